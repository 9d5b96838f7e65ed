"""Item-to-item model build on 1M orders over 50k products: patron against
implicit 0.7.3's CosineRecommender, in the same run, on the same orders.

The orders are generated as in benches/recommend.rs (200k contacts, 1 to 9
products an order, popularity skewed by a cubed uniform draw, each contact
shopping mostly in an "aisle" of 500 neighbouring products), with numpy's
generator rather than the Rust one: the same shape, not the same rows.

implicit fits on a contact-by-product count matrix and keeps K = 20
neighbours; patron builds three lists (also bought over contacts, bought
together over orders, also viewed) with K = 20 each. Timed: implicit's fit
(the matrix built beforehand, untimed); patron's build_item_model call on
the order-line table as pyarrow holds it (reading it included), and once on
1M Python dicts.

Target (issue 6): the build under 10 s on 2 cores.

    make bench-python
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import numpy as np

PRODUCTS, CONTACTS, ORDERS = 50_000, 200_000, 1_000_000


def best(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    out, t = None, float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - start)
    return t, out


def cpu(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and CPU seconds (this process, all threads): on a shared machine
    the wall time depends on the other loads, the CPU time does not."""
    start, start_cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - start, time.process_time() - start_cpu, out


def generate() -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(7)
    contacts = rng.integers(0, CONTACTS, ORDERS)
    sizes = rng.integers(1, 10, ORDERS)
    lines = int(sizes.sum())
    owner = np.repeat(contacts, sizes)
    aisle = (owner.astype(np.uint64) * np.uint64(2_654_435_761)) % np.uint64(PRODUCTS)
    in_aisle = (aisle + rng.integers(0, 500, lines).astype(np.uint64)) % np.uint64(PRODUCTS)
    popular = (rng.random(lines) ** 3 * PRODUCTS).astype(np.uint64)
    products = np.where(rng.random(lines) < 0.6, in_aisle, popular).astype(np.int64)
    return contacts, np.split(products, np.cumsum(sizes)[:-1])


def main() -> None:
    contacts, orders = generate()
    lines = sum(len(o) for o in orders)
    print(f"Item-to-item build: {ORDERS} orders, {lines} order lines, {PRODUCTS} products, {CONTACTS} contacts")

    try:
        from implicit.nearest_neighbours import CosineRecommender
        from scipy.sparse import csr_matrix
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("  implicit is not installed: pip install -r benches/python/requirements.txt")
        CosineRecommender = None  # type: ignore[assignment,misc]
    t_implicit, c_implicit = None, 0.0
    if CosineRecommender is not None:
        rows = np.repeat(contacts, [len(o) for o in orders])
        cols = np.concatenate(orders)
        user_items = csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(CONTACTS, PRODUCTS))
        user_items.sum_duplicates()
        with threadpool_limits(2):
            t_implicit, c_implicit, _ = cpu(lambda: CosineRecommender(K=20).fit(user_items, show_progress=False))
        print(f"  implicit CosineRecommender(K=20).fit: {t_implicit:7.2f} s wall, {c_implicit:7.2f} s CPU (one list)")

    import patron
    import pyarrow as pa

    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    now = start + timedelta(days=366)
    minutes = np.random.default_rng(8).integers(0, 525_600, ORDERS)
    sizes = np.array([len(o) for o in orders])
    # The order-line table a shop keeps: integer ids, one row per line.
    micros = (int(start.timestamp()) + minutes.astype(np.int64) * 60) * 1_000_000
    lines_table = pa.table(
        {
            "contact_id": np.repeat(contacts, sizes),
            "order_id": np.repeat(np.arange(ORDERS), sizes),
            "at": pa.array(np.repeat(micros, sizes), pa.timestamp("us", tz="UTC")),
            "product_id": np.concatenate(orders),
        }
    )
    for name, config in (
        ("cosine, neighbours only", {"incremental": False}),
        ("cosine, counts kept for updates", {}),
    ):
        t_patron, c_patron, model = cpu(lambda: patron.build_item_model(lines_table, now, config))
        print(f"  patron build_item_model, order-line table ({name}): {t_patron:7.2f} s wall, {c_patron:7.2f} s CPU (three lists)")
        if t_implicit is not None:
            print(f"    implicit / patron: {t_implicit / t_patron:.2f}x wall, {c_implicit / c_patron:.2f}x CPU")
        del model

    t_dicts, baskets = best(
        lambda: [
            {"contact_id": f"c{c}", "at": start + timedelta(minutes=int(m)), "product_ids": [f"p{p}" for p in o]}
            for c, m, o in zip(contacts.tolist(), minutes.tolist(), orders)
        ]
    )
    t_patron, c_patron, model = cpu(lambda: patron.build_item_model(baskets, now, {"incremental": False}))
    print(f"  patron build_item_model, 1M dicts (cosine, neighbours only): {t_patron:7.2f} s wall, {c_patron:7.2f} s CPU")
    print(f"  (building the 1M Python dicts took {t_dicts:.2f} s, not counted)")

if __name__ == "__main__":
    main()
