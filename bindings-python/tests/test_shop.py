"""The FastAPI shop example (examples/python/shop.py) end to end over HTTP on
localhost: events posted, the worker thread sending to a real SMTP server
(aiosmtpd), and the letter's one-click unsubscribe posted back."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import uvicorn

from smtp_sink import SmtpServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python" / "shop.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def test_the_shop_sends_a_cart_reminder_and_takes_the_one_click_unsubscribe(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    os.environ.update(SHOP_DB=str(tmp_path / "shop.db"), SHOP_URL=base, SHOP_LINK_KEY="test")
    os.environ.pop("SHOP_SMTP", None)
    spec = importlib.util.spec_from_file_location("shop_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    shop = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shop)

    server = uvicorn.Server(uvicorn.Config(shop.app, host="127.0.0.1", port=port, log_level="warning"))
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    stop = threading.Event()
    with SmtpServer() as smtp:
        worker = threading.Thread(target=shop.work, args=(smtp.address, stop), daemon=True)
        worker.start()
        try:
            deadline = time.time() + 10
            while not server.started and time.time() < deadline:
                time.sleep(0.05)
            status, body = post(f"{base}/contacts", [{
                "id": "anna", "first_name": "Anna", "email": "anna@example.com",
                "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}},
            }])
            assert status == 200, body
            # The cart was left 61 minutes ago: the reminder is due now.
            at = (datetime.now(timezone.utc) - timedelta(minutes=61)).isoformat()
            cart = {"type": "cart_updated", "id": "e1", "contact_id": "anna", "at": at, "currency": "EUR",
                    "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}]}
            status, body = post(f"{base}/events", [cart])
            assert (status, body["stored"]) == (200, 1), body
            status, body = post(f"{base}/events", [{**cart, "id": "e2", "at": "yesterday"}])
            assert status == 422 and body["detail"]["path"] == "events[0].at", body

            deadline = time.time() + 15
            while not smtp.sink.letters and time.time() < deadline:
                time.sleep(0.05)
            assert len(smtp.sink.letters) == 1, "the worker sent the reminder"
            letter = smtp.sink.letters[0]
            assert letter["Subject"] == "Anna, your cart is waiting"
            link = str(letter["List-Unsubscribe"]).strip("<>")
            assert link.startswith(f"{base}/unsubscribe?token=")
            assert post(link)[0] == 200
            assert post(link + "0")[0] == 400
            stored = get(f"{base}/contacts/anna")
            assert stored["contact"]["consent"]["email"]["marketing"]["status"] == "unsubscribed"
            time.sleep(0.5)
            assert len(smtp.sink.letters) == 1, "nothing went twice"
        finally:
            stop.set()
            server.should_exit = True
            worker.join(timeout=10)
            serving.join(timeout=10)
