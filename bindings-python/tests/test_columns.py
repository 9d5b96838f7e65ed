"""Columnar input and output: Arrow producers in, an Arrow table out."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Callable

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pytest

import patron

CUSTOMERS: list[dict[str, Any]] = [
    {"contact_id": "a", "last_order_at": "2024-06-25T10:00:00Z", "orders": 9, "revenue": 900.0},
    {"contact_id": "b", "last_order_at": "2024-05-02T10:00:00Z", "orders": 5, "revenue": 410.0},
    {"contact_id": "c", "last_order_at": "2024-01-20T10:00:00Z", "orders": 3, "revenue": 260.0},
    {"contact_id": "d", "last_order_at": "2023-08-14T10:00:00Z", "orders": 2, "revenue": 95.0},
    {"contact_id": "e", "last_order_at": "2022-11-30T10:00:00Z", "orders": 1, "revenue": 40.0},
    {"contact_id": "f", "orders": 0, "revenue": 0.0},
]
AS_OF = "2024-07-01T00:00:00Z"


def _arrow() -> pa.Table:
    times = [datetime.fromisoformat(c["last_order_at"]) if "last_order_at" in c else None for c in CUSTOMERS]
    return pa.table(
        {
            "contact_id": [c["contact_id"] for c in CUSTOMERS],
            "last_order_at": pa.array(times, pa.timestamp("us", tz="UTC")),
            "orders": pa.array([c["orders"] for c in CUSTOMERS], pa.int32()),
            "revenue": [c["revenue"] for c in CUSTOMERS],
        }
    )


PRODUCERS: dict[str, Callable[[], Any]] = {
    "pyarrow table": _arrow,
    "pyarrow record batch": lambda: _arrow().to_batches()[0],
    "polars": lambda: pl.from_arrow(_arrow()),
    "pandas": lambda: _arrow().to_pandas(),
    "dict of numpy arrays": lambda: {
        "contact_id": np.array([c["contact_id"] for c in CUSTOMERS], dtype=object),
        "last_order_at": [c.get("last_order_at") for c in CUSTOMERS],
        "orders": np.array([c["orders"] for c in CUSTOMERS], dtype=np.int64),
        "revenue": np.array([c["revenue"] for c in CUSTOMERS]),
    },
    "dict of arrow arrays": lambda: {name: _arrow().column(name) for name in _arrow().column_names},
}


def _rows(table: Any) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if v is not None} for row in pa.table(table).to_pylist()]


@pytest.mark.parametrize("producer", PRODUCERS)
def test_every_producer_gives_the_row_result(producer: str) -> None:
    expected = patron.rfm_scores(CUSTOMERS, AS_OF)
    got = patron.rfm_scores(PRODUCERS[producer](), AS_OF)
    assert hasattr(got, "__arrow_c_stream__")
    assert _rows(got) == expected


def test_results_convert_to_dataframes_with_typed_columns() -> None:
    places = patron.lifecycle_place(_arrow(), AS_OF)
    frame = pl.DataFrame(places)
    assert frame.columns == ["contact_id", "purchases", "days", "region"]
    assert frame["region"].to_list()[0] == "best"
    history = patron.predict_average_interval(
        {"contact_id": ["a", "a", "b"], "date": ["2024-01-01", "2024-03-01", "2024-02-01"], "amount": [1.0, 2.0, 3.0]},
        "2024-07-01",
    )
    table = pa.table(history)
    assert table.schema.field("last_purchase").type == pa.date32()
    assert table.column("last_purchase").to_pylist() == [date(2024, 3, 1), date(2024, 2, 1)]
    scores = pa.table(patron.rfm_scores(_arrow(), AS_OF))
    assert scores.schema.field("r").type == pa.uint64()
    summaries = pa.table({"contact_id": ["a"], "last_order_at": pa.array([datetime(2024, 6, 1, tzinfo=timezone.utc)])})
    assert summaries.num_rows == 1


def test_pandas_frames_round_trip_through_pyarrow() -> None:
    frame = pd.DataFrame(_rows(patron.rfm_scores(_arrow().to_pandas(), AS_OF)))
    assert list(frame["cell"])[:2] == ["555", "444"]


def test_naive_timestamps_are_refused_with_the_column() -> None:
    table = _arrow().set_column(1, "last_order_at", _arrow().column("last_order_at").cast(pa.timestamp("us")))
    with pytest.raises(patron.ValidationError) as err:
        patron.rfm_scores(table, AS_OF)
    assert err.value.path == "customers.last_order_at"
    assert "tz_localize" in str(err.value)


def test_bad_cells_name_their_row_and_column() -> None:
    table = _arrow().set_column(3, "revenue", pa.array([900.0, float("nan"), 1, 1, 1, 0]))
    with pytest.raises(patron.ValidationError) as err:
        patron.rfm_scores(table, AS_OF)
    assert err.value.path == "customers[1].revenue"
    renamed = _arrow().rename_columns(["contact_id", "last_order_at", "orders", "revnue"])
    with pytest.raises(patron.ValidationError) as err:
        patron.rfm_scores(renamed, AS_OF)
    assert err.value.path == "customers[0].revnue" and "revenue" in str(err.value)


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(patron.ValidationError) as err:
        patron.rfm_scores({"contact_id": ["a", "b"], "orders": [1], "revenue": [1.0, 2.0]}, AS_OF)
    assert err.value.path == "customers.orders"


def test_unreadable_column_types_are_refused() -> None:
    table = _arrow().append_column("tags", pa.array([["x"]] * 6))
    with pytest.raises(patron.ValidationError) as err:
        patron.rfm_scores(table, AS_OF)
    assert err.value.path == "customers.tags"


def test_an_empty_table_gives_an_empty_table() -> None:
    empty = _arrow().slice(0, 0)
    assert pa.table(patron.rfm_scores(empty, AS_OF)).num_rows == 0
