#!/usr/bin/env bash
# The `patron` command on the files in examples/store. Regions between START
# and END markers are quoted in docs/store.md. Run from the repository root:
# PATRON=target/debug/patron examples/store.sh
set -euo pipefail
bin=${PATRON:-patron}
[[ $bin == */* ]] && bin=$(realpath "$bin")
patron() { "$bin" "$@"; }
cd examples/store
db=$(mktemp -d)/shop.db

# START cli
patron config --db "$db" config.json          # rules, templates, sender: kept in the file
patron contacts --db "$db" contacts.json --now 2024-05-01T09:00:00Z
patron ingest --db "$db" events.ndjson --now 2024-05-01T10:30:00Z
# Replay the day on a virtual clock; without --smtp the letters stay queued.
patron run --db "$db" --replay --until 2024-05-02T00:00:00Z
patron stats --db "$db"
# END cli

stats=$(patron stats --db "$db" --json)
grep -q '"queued": 1' <<<"$stats"  # Anna's reminder; Ben bought, so his chain ended
rm -rf "$(dirname "$db")"
