"""One trigger event from Python: `TriggerEngine.handle` over the 100 rules of
benches/data/triggers100.json, each contact's state carried from call to
call, as a host runs it. Compare the percentiles with the Rust core's
(`cargo bench --bench trigger`, which prints the same calls' p50 and p99):
the difference is the Python boundary (dicts in, dicts out).

    make bench-python
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import patron

CONFIG = json.loads((Path(__file__).parent.parent / "data" / "triggers100.json").read_text())
CONFIG.pop("about")
CONTACTS = 1_000


def day(k: int) -> list[dict[str, Any]]:
    cid = f"c{k}"
    at = lambda m: f"2025-01-01T{9 + m // 60:02d}:{m % 60:02d}:00Z"  # noqa: E731
    p = lambda j: f"p{(k * 7 + j) % 120}"  # noqa: E731
    return [
        {"type": "product_viewed", "id": f"{cid}-v1", "contact_id": cid, "at": at(1), "product_id": p(0)},
        {"type": "product_viewed", "id": f"{cid}-v2", "contact_id": cid, "at": at(3), "product_id": p(1)},
        {"type": "cart_updated", "id": f"{cid}-c1", "contact_id": cid, "at": at(5), "currency": "EUR",
         "lines": [{"product_id": p(1), "quantity": 1, "unit_price": 30}]},
        {"type": "custom", "id": f"{cid}-x1", "contact_id": cid, "at": at(8), "name": f"event_{(k % 40) * 2 + 1}"},
        {"type": "product_viewed", "id": f"{cid}-v3", "contact_id": cid, "at": at(30), "product_id": p(2)},
        {"type": "order_placed", "id": f"{cid}-o1", "contact_id": cid, "at": at(90), "order_id": f"{cid}-o1",
         "currency": "EUR", "total": 30, "lines": [{"product_id": p(1), "quantity": 1, "unit_price": 30}]},
    ]


def main() -> None:
    engine = patron.TriggerEngine(CONFIG)
    contacts = [
        {"id": f"c{k}", "email": f"c{k}@example.com", "time_zone": "Europe/Berlin",
         "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}}}
        for k in range(CONTACTS)
    ]
    days = [day(k) for k in range(CONTACTS)]
    # Facts after the day's events, with the contact's record (built once: the
    # host's profile step is measured in benches/profile.rs).
    profiles = [patron.build_profiles(d)[0] for d in days]
    facts = patron.profile_facts(profiles, "2025-01-01T10:30:00Z", contacts=contacts)
    times: list[float] = []
    for round in range(3):
        for f, events in zip(facts, days):
            state = None
            for e in events:
                t = time.perf_counter()
                out = engine.handle(state, f, e, e["at"])
                if round > 0:
                    times.append((time.perf_counter() - t) * 1e6)
                state = out["state"]
    times.sort()
    pct = lambda p: times[int((len(times) - 1) * p)]  # noqa: E731
    print(
        f"handle from Python, 100 rules and 20 segments, {len(times)} calls: "
        f"p50 {pct(0.5):.1f} us, p90 {pct(0.9):.1f} us, p99 {pct(0.99):.1f} us"
    )


if __name__ == "__main__":
    main()
