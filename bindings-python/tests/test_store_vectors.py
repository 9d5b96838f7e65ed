"""Runs the store's shared vectors (tests/vectors/store/v1) through patron.Store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import patron
from conftest import flatten_datetime_objects, json_form

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "store" / "v1"


def cases() -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(VECTORS.glob("*.json")):
        doc = json.loads(path.read_text())
        assert doc["version"] == 1
        out.extend((f"{path.stem}/{c['name']}", c) for c in doc["cases"])
    return out


def step(store: patron.Store, call: str, a: dict[str, Any]) -> Any:
    if call == "upsert_contacts":
        return store.upsert_contacts(a["contacts"], a["now"])
    if call == "ingest":
        return store.ingest(a["lines"] if "lines" in a else a["events"], a["now"])
    if call == "run_due":
        return store.run_due(a["now"])
    if call == "next_wakeup":
        return store.next_wakeup(a["now"])
    if call == "claim_letters":
        return store.claim_letters(a["now"], a["channels"], a.get("limit", 100))
    if call == "letter_sent":
        return store.letter_sent(a["message_id"], a["now"])
    if call == "letter_failed":
        return store.letter_failed(a["message_id"], a["reason"], a["now"], a.get("retry", True), a.get("hard_bounce", False))
    if call == "unsubscribe":
        return store.unsubscribe(a["token"], a["now"])
    if call == "stats":
        return store.stats()
    if call == "outbox":
        return store.outbox(a.get("status"))
    if call == "contact":
        return store.contact(a["contact_id"])
    raise AssertionError(f"unknown store call {call}")


def same(a: Any, b: Any) -> bool:
    """Numbers compare by value; tuples read as lists."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def check_error(err: patron.PatronError, want: dict[str, Any], where: str) -> None:
    assert err.code == want["code"], f"{where}: {err}"
    for key in ("path", "line", "column"):
        if key in want:
            assert getattr(err, key) == want[key], f"{where}: {key} {getattr(err, key)!r} in {err}"
    if "message_contains" in want:
        assert want["message_contains"] in str(err), f"{where}: {err}"


@pytest.mark.parametrize("name,case", cases(), ids=[n for n, _ in cases()])
def test_store_vector(name: str, case: dict[str, Any], tmp_path: Path) -> None:
    if "open_error" in case:
        with pytest.raises(patron.PatronError) as info:
            patron.Store(tmp_path / "shop.db", case["config"])
        check_error(info.value, case["open_error"], "opening")
        return
    store = patron.Store(tmp_path / "shop.db", case["config"])
    for i, s in enumerate(case["steps"]):
        where = f"step {i} ({s['call']})"
        if "error" in s:
            with pytest.raises(patron.PatronError) as info:
                step(store, s["call"], s.get("args", {}))
            check_error(info.value, s["error"], where)
        else:
            got = json_form(step(store, s["call"], s.get("args", {})))
            want = flatten_datetime_objects(s["output"])
            assert same(got, want), f"{where}:\n want {want}\n got  {got}"
