"""RFM straight from an order table: Arrow columns give what rows give, and
bad rows are named."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pytest

import patron

AS_OF = "2025-01-01T00:00:00Z"
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _rows(n: int, seed: int, *, in_time_order: bool) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for _ in range(n):
        order = rng.randrange(n // 2 + 1)
        rows.append(
            {
                "contact_id": f"c{order % 37}",
                "order_id": order,
                "at": START + timedelta(days=order % 300, hours=rng.randrange(3)),
                "amount": rng.randrange(400) / 4,
            }
        )
    if in_time_order:
        rows.sort(key=lambda r: r["at"])
    return rows


def _table(rows: list[dict[str, Any]], chunks: int = 1) -> pa.Table:
    table = pa.table(
        {
            "contact_id": [r["contact_id"] for r in rows],
            "order_id": pa.array([r["order_id"] for r in rows], pa.int64()),
            "at": pa.array([r["at"] for r in rows], pa.timestamp("us", tz="UTC")),
            "amount": [r["amount"] for r in rows],
        }
    )
    size = max(1, -(-len(rows) // chunks))
    return pa.Table.from_batches(table.to_batches(max_chunksize=size), table.schema)


def _as_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "order_id": str(r["order_id"]), "at": r["at"].isoformat()} for r in rows]


@pytest.mark.parametrize("ties", ["same_bin", "by_id"])
@pytest.mark.parametrize("in_time_order", [True, False])
@pytest.mark.parametrize("chunks", [1, 3])
def test_columns_give_what_rows_give(ties: str, in_time_order: bool, chunks: int) -> None:
    rows = _rows(500, seed=chunks, in_time_order=in_time_order)
    config = {"ties": ties, "frequency": "purchase_days"}
    want = patron.rfm_from_purchases(_as_rows(rows), AS_OF, config)
    got = pa.table(patron.rfm_from_purchases(_table(rows, chunks), AS_OF, config)).to_pylist()
    assert got == want
    from_polars = pl.DataFrame(patron.rfm_from_purchases(pl.from_arrow(_table(rows)), AS_OF, config))
    assert from_polars.to_dicts() == want


def test_integer_contact_ids_come_out_as_text() -> None:
    table = pa.table(
        {
            "contact_id": pa.array([7, 8, 7], pa.int64()),
            "at": pa.array([START, START, START + timedelta(days=9)], pa.timestamp("us", tz="UTC")),
            "amount": [10.0, 99.0, 5.0],
        }
    )
    out = pa.table(patron.rfm_from_purchases(table, AS_OF))
    assert out.column("contact_id").to_pylist() == ["7", "8"]
    assert out.column("frequency").to_pylist() == [2.0, 1.0]


def test_an_empty_table_gives_no_scores() -> None:
    out = pa.table(patron.rfm_from_purchases(_table([]), AS_OF))
    assert out.num_rows == 0
    assert out.column_names[:4] == ["contact_id", "recency_days", "frequency", "monetary"]


@pytest.mark.parametrize(
    ("row", "field", "value", "path"),
    [
        (2, "contact_id", "", "purchases[2].contact_id"),
        (1, "amount", float("nan"), "purchases[1].amount"),
        (3, "amount", -1.0, "purchases[3].amount"),
        (0, "at", datetime(2026, 1, 1, tzinfo=timezone.utc), "purchases[0].at"),
    ],
)
def test_bad_rows_are_named(row: int, field: str, value: Any, path: str) -> None:
    rows = _rows(10, seed=1, in_time_order=True)
    rows[row][field] = value
    with pytest.raises(patron.PatronError) as err:
        patron.rfm_from_purchases(_table(rows), AS_OF)
    assert err.value.path == path


def test_a_bad_config_is_named_before_any_work() -> None:
    with pytest.raises(patron.PatronError) as err:
        patron.rfm_from_purchases(_table(_rows(10, seed=1, in_time_order=True)), AS_OF, {"bins": 11})
    assert err.value.path is not None and err.value.path.startswith("config")
