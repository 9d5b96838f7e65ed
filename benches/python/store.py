"""The store from Python, as a shop runs it (issue 17's targets, 2 cores):

- ingest of 1M events for 100k contacts: >= 100k events/s (dicts, and JSON lines),
  for two orders of arrival: a day of overlapping visits in time order (as a
  shop's events come), and the worst case, every contact once a batch;
- run_due over 100k due contacts: >= 100k contacts/s;
- letters over SMTP to a local sink: >= 100k a minute (a tuned Mautic sends
  about 40k a minute, listmonk about 50k per SMTP server).

The sink is `patron sink`, a separate process, so that the sink's own work
is not counted in the sender's process. Results are checked: every event
stored, every due contact woken, every letter arrived once.

    make bench-python        (or: .venv/bin/python benches/python/store.py [EVENTS CONTACTS])
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import patron

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("PATRON_BIN", ROOT / "target" / "release" / "patron"))

CONFIG: dict[str, Any] = {
    "triggers": {
        "rules": [
            {"id": "abandoned_cart", "trigger": {"on": "product", "action": "carted"},
             "reentry": {"type": "always"}, "on_repeat": "restart",
             "steps": [{"name": "1h", "delay": "1h", "template": "cart"}],
             "exit": [{"on": "event", "event": "order_placed", "same_products": True}]},
            {"id": "browse", "trigger": {"on": "product", "action": "viewed"},
             "reentry": {"type": "cooldown", "period": "3d"},
             "steps": [{"name": "2h", "delay": "2h", "template": "browse"}],
             "exit": [{"on": "event", "event": "order_placed"}]},
        ],
        "segments": {"carted": "cart.value > 0", "buyers": "orders >= 1"},
    },
    "templates": {
        "cart": {"subject": "{{ contact.first_name | default(value='Hi') }}, your cart", "text": "It waits for you."},
        "browse": {"subject": "Still looking?", "text": "Have another look."},
    },
    "sender": {"from": "Shop <news@shop.example>", "unsubscribe_url": "https://shop.example/u", "link_key": "k"},
}


def event(k: int, c: int, at: str) -> dict[str, Any]:
    """The k-th event of contact c: views, carts, a search, some orders."""
    eid, cid, p = f"e{k}-{c}", f"c{c}", f"p{(c * 7 + k) % 500}"
    kind = k % 10
    if kind in (3, 7):
        return {"type": "cart_updated", "id": eid, "contact_id": cid, "at": at, "currency": "EUR",
                "lines": [{"product_id": p, "quantity": 1, "unit_price": 19.9}]}
    if kind == 9 and c % 3 == 0:
        return {"type": "order_placed", "id": eid, "contact_id": cid, "at": at, "order_id": f"o{k}-{c}",
                "total": 19.9, "currency": "EUR", "lines": [{"product_id": p, "quantity": 1, "unit_price": 19.9}]}
    if kind == 5:
        return {"type": "searched", "id": eid, "contact_id": cid, "at": at, "query": "running shoes"}
    return {"type": "product_viewed", "id": eid, "contact_id": cid, "at": at, "product_id": p}


def interleaved(n: int, contacts: int) -> list[dict[str, Any]]:
    """The worst case for a store: every contact's k-th event, then every
    contact's next, so that each batch touches each contact it holds once."""
    per = max(1, -(-n // contacts))
    out = [event(k, c, f"2024-05-01T{8 + k // 60:02d}:{k % 60:02d}:{c % 60:02d}Z")
           for k in range(per) for c in range(contacts)]
    return out[:n]


def sessions(n: int, contacts: int) -> list[dict[str, Any]]:
    """A day of a shop in time order: each contact's visit (an event a
    minute) starts at its own time of the day, so visits overlap as they do
    and a batch holds several events of most contacts in it."""
    per = max(1, -(-n // contacts))
    start = 1714474800  # 2024-04-30T11:00:00Z: the last visits end before the ingest's now
    timed = sorted((start + c * 86_400 // contacts + 60 * k, c, k) for c in range(contacts) for k in range(per))[:n]
    return [event(k, c, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))) for t, c, k in timed]


def contacts_of(n: int) -> list[dict[str, Any]]:
    return [{"id": f"c{c}", "email": f"c{c}@example.com",
             "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}}}
            for c in range(n)]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    contacts = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    batch = 10_000
    print(f"store from Python: {n:,} events for {contacts:,} contacts, {batch:,} a transaction, {os.cpu_count()} cores")
    workloads = [("sessions", "dicts", sessions), ("interleaved", "dicts", interleaved),
                 ("interleaved", "JSON lines", interleaved)]
    for order, form, make in workloads:
        data = make(n, contacts)
        lines = [json.dumps(e) for e in data] if form == "JSON lines" else []
        folder = tempfile.mkdtemp()
        store = patron.Store(f"{folder}/shop.db", CONFIG)
        people = contacts_of(contacts)
        for i in range(0, contacts, batch):
            store.upsert_contacts(people[i:i + batch], "2024-04-30T11:00:00Z")
        started = time.perf_counter()
        stored = 0
        for i in range(0, n, batch):
            chunk: Any = data[i:i + batch] if form == "dicts" else "\n".join(lines[i:i + batch])
            stored += store.ingest(chunk, "2024-05-01T12:00:00Z")["stored"]
        took = time.perf_counter() - started
        assert stored == n, stored
        print(f"  ingest, {order:<11} {form:<10} {took:6.2f} s  {n / took:9,.0f} events/s")
    # The last store (JSON lines) goes on: wake everyone, then send.
    started = time.perf_counter()
    ran = store.run_due("2024-05-02T12:00:00Z")
    took = time.perf_counter() - started
    assert ran["contacts"] == contacts and ran["lost"] == 0 and not ran["failed"], ran
    print(f"  run_due           {took:6.2f} s  {ran['contacts'] / took:9,.0f} contacts/s ({ran['queued']:,} letters queued)")

    assert BIN.exists(), f"{BIN} is missing: cargo build --release -p patron-store"
    sink = subprocess.Popen([str(BIN), "sink"], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        address = sink.stdout.readline().split()[-1]
        started = time.perf_counter()
        sent = store.send("2024-05-02T12:00:00Z", address)
        took = time.perf_counter() - started
        assert sent["sent"] == ran["queued"] and sent["failed"] == 0, sent
        print(f"  send over SMTP    {took:6.2f} s  {sent['sent'] / took * 60:9,.0f} letters/minute")
        deadline = time.time() + 30
        seen: set[str] = set()
        while len(seen) < sent["sent"] and time.time() < deadline:
            line = sink.stdout.readline()
            if not line:
                break
            message_id = line.split()[0]
            assert message_id not in seen, f"{message_id} arrived twice"
            seen.add(message_id)
        assert len(seen) == sent["sent"], (len(seen), sent)
    finally:
        sink.kill()


if __name__ == "__main__":
    main()
