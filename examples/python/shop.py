"""A shop backend on patron's store (FastAPI): the storefront posts events,
a worker thread wakes contacts and sends their letters, and a letter's
one-click unsubscribe link comes back here. Regions between START and END
markers are quoted in docs/store.md; bindings-python/tests/test_shop.py
runs it end to end over HTTP against a real SMTP server.

    SHOP_DB=shop.db SHOP_SMTP=127.0.0.1:2525 uvicorn shop:app   (from examples/python)
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timezone
from typing import Any

from fastapi import Body, FastAPI, HTTPException

import patron

CONFIG: dict[str, Any] = {
    "triggers": {"rules": [{
        "id": "abandoned_cart", "trigger": {"on": "product", "action": "carted"},
        "reentry": {"type": "always"}, "on_repeat": "restart",
        "steps": [{"name": "1h", "delay": "1h", "template": "cart"}],
        "exit": [{"on": "event", "event": "order_placed", "same_products": True}],
    }]},
    "templates": {"cart": {"subject": "{{ contact.first_name | default(value='Hello') }}, your cart is waiting",
                           "text": "Come back for it. Unsubscribe: {{ links.unsubscribe }}"}},
    "sender": {"from": "Shop <news@shop.example>", "link_key": os.environ.get("SHOP_LINK_KEY", "change me"),
               "unsubscribe_url": os.environ.get("SHOP_URL", "http://127.0.0.1:8000") + "/unsubscribe"},
}


def now() -> datetime:
    return datetime.now(timezone.utc)


# START app
store = patron.Store(os.environ.get("SHOP_DB", "shop.db"), CONFIG)
app = FastAPI(title="shop on patron")


@app.post("/contacts")
def contacts(records: list[dict[str, Any]] = Body(...)) -> dict[str, Any]:
    try:
        return dict(store.upsert_contacts(records, now()))
    except patron.ValidationError as e:
        raise HTTPException(422, {"code": e.code, "path": e.path, "message": str(e)}) from e


@app.post("/events")
def events(batch: list[dict[str, Any]] = Body(...)) -> dict[str, Any]:
    """One transaction per request: all of the batch is stored, or none."""
    try:
        return dict(store.ingest(batch, now()))
    except patron.ValidationError as e:
        raise HTTPException(422, {"code": e.code, "path": e.path, "message": str(e)}) from e


@app.post("/unsubscribe")
def unsubscribe(token: str) -> dict[str, str]:
    """RFC 8058 one-click: mail clients POST to the List-Unsubscribe address."""
    try:
        store.unsubscribe(token, now())
    except patron.ValidationError as e:
        raise HTTPException(400, "this link is not valid") from e
    return {"status": "unsubscribed"}


@app.get("/contacts/{contact_id}")
def contact(contact_id: str) -> dict[str, Any]:
    found = store.contact(contact_id)
    if found is None:
        raise HTTPException(404, "no such contact")
    return dict(found)


def work(smtp: str, stop: threading.Event, every: float = 0.2) -> None:
    """The worker: wake the contacts that are due, send what was queued."""
    while not stop.is_set():
        at = now()
        store.run_due(at)
        store.send(at, smtp)
        stop.wait(every)
# END app


if os.environ.get("SHOP_SMTP"):
    threading.Thread(target=work, args=(os.environ["SHOP_SMTP"], threading.Event()), daemon=True).start()
