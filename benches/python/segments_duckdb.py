"""Twenty segments over 1M contacts: patron against DuckDB running the same
rules as SQL over the same facts, in the same run.

The rules and their SQL are in benches/data/segments20.json. The Rust bench
(benches/segments.rs) generates the facts of 1M contacts, times patron's
evaluation of all twenty segments for every contact (from a table of the
columns the rules read, and from the facts one contact at a time), and
writes the columns
the SQL reads to a CSV, with patron's count of each segment. This script
loads that CSV into DuckDB (not timed), times one query that computes all
twenty memberships for every contact into a table, checks every count
against patron's (except the random holdout buckets, whose hash differs),
and prints both times and the ratio.

Target (issue 4): patron no slower than DuckDB.

    make bench-segments
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "target" / "bench" / "segments-facts.csv"


def patron_seconds() -> dict[str, float]:
    """Runs the criterion bench and reads its mean time per evaluation,
    from a table of facts and from facts one contact at a time."""
    CSV.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PATRON_BENCH_CSV=str(CSV))
    subprocess.run(
        ["cargo", "bench", "--quiet", "-p", "patron", "--bench", "segments", "--", "evaluate_20"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    out = {}
    for source in ("table", "facts"):
        name = f"evaluate_20_segments_1m_contacts_{source}"
        estimates = ROOT / "target/criterion/segments" / name / "new/estimates.json"
        out[source] = float(json.loads(estimates.read_text())["mean"]["point_estimate"]) / 1e9
    return out


def main() -> None:
    spec = json.loads((ROOT / "benches/data/segments20.json").read_text())
    segments: dict[str, dict[str, str]] = spec["segments"]
    patron = patron_seconds()
    patron_counts: dict[str, int] = json.loads(Path(f"{CSV}.counts.json").read_text())

    db = duckdb.connect()
    db.execute("SET threads = 2")
    db.execute(f"CREATE TABLE facts AS SELECT * FROM read_csv('{CSV}', header = true)")
    rows = db.execute("SELECT count(*) FROM facts").fetchone()
    assert rows is not None
    as_of = db.execute("SELECT max(as_of)::VARCHAR FROM facts").fetchone()
    assert as_of is not None
    constant = f"TIMESTAMPTZ '{as_of[0]}'"
    columns = ", ".join(
        f'({s["sql"].replace("{as_of}", constant)}) AS "{name}"' for name, s in segments.items()
    )
    # One boolean per contact and segment, in row order: what patron returns.
    query = f"CREATE OR REPLACE TABLE members AS SELECT {columns} FROM facts"
    times = []
    for _ in range(5):
        start = time.perf_counter()
        db.execute(query)
        times.append(time.perf_counter() - start)
    duck_time = min(times)

    for name, s in segments.items():
        got = db.execute(f'SELECT count(*) FROM members WHERE "{name}"').fetchone()
        assert got is not None
        if s.get("same_members", True):
            assert got[0] == patron_counts[name], (name, got[0], patron_counts[name])

    print(f"contacts: {rows[0]:,}, segments: {len(segments)} (counts checked equal)")
    print(f"patron, table of facts   {patron['table'] * 1000:8.1f} ms")
    print(f"patron, facts by contact {patron['facts'] * 1000:8.1f} ms")
    print(f"duckdb, same columns     {duck_time * 1000:8.1f} ms (best of 5)")
    print(f"patron's table is {duck_time / patron['table']:.2f}x DuckDB's speed (target: at least 1x)")


if __name__ == "__main__":
    main()
