"""Purchases and columnar data in Python. Regions between START and END markers are quoted in docs/purchases.md."""

# START purchases
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

import patron

# A shop's order table, as it comes out of the database: one row per order line.
orders = pl.DataFrame(
    {
        "contact_id": ["anna", "anna", "ben", "anna"],
        "order_id": ["o-10", "o-10", "o-11", "o-12"],
        "at": ["2024-06-01T10:00:00Z", "2024-06-01T10:00:00Z", "2024-05-20T08:30:00Z", "2024-06-20T19:00:00Z"],
        "amount": [30.0, 20.0, 99.0, 15.0],
    }
).with_columns(pl.col("at").str.to_datetime(time_zone="UTC"))

# Columns in, an Arrow table out: no Python object per row, the GIL released.
scores = pl.DataFrame(patron.rfm_from_purchases(orders, "2024-07-01T00:00:00Z"))
assert scores.row(0, named=True)["cell"] == "442"

# The steps one by one; pyarrow tables and dicts of columns work the same way.
summaries = patron.summarize_purchases(orders.to_arrow(), "2024-07-01T00:00:00Z")
places = pa.table(patron.lifecycle_place(summaries, "2024-07-01T00:00:00Z"))
assert places.column("region").to_pylist() == ["growing", "new"]

# A list of dicts still gives a list of dicts.
rows = patron.rfm_from_purchases(orders.to_dicts(), "2024-07-01T00:00:00Z")
assert rows[0]["cell"] == "442"
# END purchases
