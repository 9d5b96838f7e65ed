"""patron.Store from Python: the conversions, the errors, the GIL, and
letters to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import patron
from smtp_sink import SmtpServer

CONFIG: dict[str, Any] = {
    "triggers": {
        "rules": [{
            "id": "abandoned_cart", "trigger": {"on": "product", "action": "carted"},
            "steps": [{"name": "1h", "delay": "1h", "template": "cart", "coupon_pool": "back"}],
            "exit": [{"on": "event", "event": "order_placed", "same_products": True}],
        }],
        "segments": {"carted": "cart.value > 0"},
    },
    "templates": {"cart": {"subject": "{{ contact.first_name }}, your cart", "html": "<p>{{ coupon.code }}</p>",
                           "text": "{{ coupon.code }} {{ links.unsubscribe }}"}},
    "coupon_pools": [{"id": "back", "generator": {"pattern": "BACK-####", "key": 3}}],
    "sender": {"from": "Shop <news@shop.example>", "unsubscribe_url": "https://shop.example/u", "link_key": "k"},
}


def contact(i: int, email: bool = True) -> dict[str, Any]:
    c: dict[str, Any] = {"id": f"c{i}", "first_name": f"Ann{i}"}
    if email:
        c["email"] = f"c{i}@example.com"
        c["consent"] = {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}}
    return c


def cart(i: int, at: str = "2024-05-01T10:00:00Z") -> dict[str, Any]:
    return {"type": "cart_updated", "id": f"e{i}", "contact_id": f"c{i}", "at": at, "currency": "EUR",
            "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}]}


@pytest.fixture
def store(tmp_path: Path) -> patron.Store:
    s = patron.Store(tmp_path / "shop.db", CONFIG)
    s.upsert_contacts([contact(i) for i in range(3)], "2024-05-01T09:00:00Z")
    return s


def test_a_cart_goes_out_through_smtp_with_its_coupon_and_headers(store: patron.Store) -> None:
    done = store.ingest([cart(0), cart(1), cart(0)], datetime(2024, 5, 1, 10, tzinfo=timezone.utc))
    assert (done["stored"], done["duplicates"], done["membership_changes"]) == (2, ["e0"], 2)
    assert store.next_wakeup("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 11, tzinfo=timezone.utc)
    assert store.run_due("2024-05-01T11:00:00Z")["queued"] == 2
    with SmtpServer() as smtp:
        sent = store.send("2024-05-01T11:00:00Z", smtp.address)
        assert sent == {"sent": 2, "retried": 0, "failed": 0, "cancelled": 0, "resumed": 0}
        letter = next(m for m in smtp.sink.letters if m["To"] == "c0@example.com")
    assert letter["Subject"] == "Ann0, your cart"
    assert letter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    parts = {p.get_content_type(): p.get_content() for p in letter.iter_parts()}
    assert parts["text/html"].startswith("<p>BACK-")
    stats = store.stats()
    assert stats["outbox"] == {"sent": 2} and stats["coupons"] == 2
    # One click on the link withdraws consent; the store keeps the record.
    token = str(letter["List-Unsubscribe"]).split("token=")[1].rstrip(">")
    store.unsubscribe(token, "2024-05-01T12:00:00Z")
    stored = store.contact("c0")
    assert stored is not None and stored["contact"] is not None
    assert stored["contact"]["consent"]["email"]["marketing"]["status"] == "unsubscribed"
    assert stored["segments"] == ["carted"]
    assert store.kpis()[0]["sent"] == 2


def test_letters_of_the_hosts_own_channel_are_claimed_and_finished(tmp_path: Path) -> None:
    config = {**CONFIG, "triggers": {**CONFIG["triggers"], "policy": {"channels": ["sms"]}}}
    s = patron.Store(tmp_path / "sms.db", config)
    s.upsert_contacts([{"id": "c0", "phone": "+49 30 1234567",
                        "consent": {"sms": {"marketing": {"status": "confirmed",
                                                          "confirmed_at": "2024-01-01T00:00:00Z"}}}}],
                      "2024-05-01T09:00:00Z")
    s.ingest([cart(0)], "2024-05-01T10:00:00Z")
    s.run_due("2024-05-01T11:00:00Z")
    assert s.claim_letters("2024-05-01T11:00:00Z", ["email"]) == []
    [letter] = s.claim_letters("2024-05-01T11:00:00Z", ["sms"])
    assert (letter["channel"], letter.get("to")) == ("sms", "+49301234567")
    assert s.claim_letters("2024-05-01T11:00:00Z", ["sms"]) == [], "leased"
    assert s.letter_failed(letter["message_id"], "gateway timeout", "2024-05-01T11:00:01Z") == "retry"
    [again] = s.claim_letters("2024-05-01T11:01:01Z", ["sms"])
    assert (again["message_id"], again["attempt"]) == (letter["message_id"], 2)
    assert s.letter_sent(again["message_id"], "2024-05-01T11:01:02Z") == "sent"
    assert [r["status"] for r in s.outbox()] == ["sent"]
    with pytest.raises(patron.ValidationError) as e:
        s.letter_sent("nope", "2024-05-01T11:01:02Z")
    assert e.value.path == "message_id"


def test_bad_input_is_named_and_nothing_is_stored(store: patron.Store) -> None:
    with pytest.raises(patron.ValidationError) as e:
        bad: dict[str, Any] = {**cart(1), "at": "soon"}
        store.ingest([cart(0), bad], "2024-05-01T10:00:00Z")
    assert e.value.path == "events[1].at"
    lines = '{"type": "product_viewed", "id": "e9", "contact_id": "c0", "at": "2024-05-01T10:00:00Z", "product_id": "p1"}\n{"type": '
    with pytest.raises(patron.JsonError) as j:
        store.ingest(lines, "2024-05-01T10:00:00Z")
    assert (j.value.line, j.value.code) == (2, "json")
    with pytest.raises(patron.ValidationError) as f:
        store.ingest([cart(0, at="2031-01-01T00:00:00Z")], "2024-05-01T10:00:00Z")
    assert f.value.path == "events[0].at" and "future" in str(f.value)
    with pytest.raises(patron.ValidationError) as c:
        store.upsert_contacts([{"id": "c9", "time_zone": "Europe/Berlim"}], "2024-05-01T10:00:00Z")
    assert c.value.path == "contacts[0].time_zone"
    with pytest.raises(patron.ChannelError):
        store.send("2024-05-01T10:00:00Z", "no port here")
    assert store.stats()["events"] == 0


def test_damaged_newer_and_missing_files_raise_store_errors(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"x" * 4096)
    with pytest.raises(patron.CorruptError) as e:
        patron.Store(tmp_path / "junk.db")
    assert isinstance(e.value, patron.StoreError) and isinstance(e.value, patron.PatronError)
    with pytest.raises(patron.NoConfigError):
        patron.Store(tmp_path / "new.db")
    patron.Store(tmp_path / "newer.db", CONFIG)
    with sqlite3.connect(tmp_path / "newer.db") as conn:
        conn.execute("PRAGMA user_version = 7")
    with pytest.raises(patron.NewerSchemaError) as n:
        patron.Store(tmp_path / "newer.db")
    assert n.value.code == "newer_schema"
    bad = {**CONFIG, "templates": {}}
    with pytest.raises(patron.ValidationError) as b:
        patron.Store(tmp_path / "bad.db", bad)
    assert b.value.path == "triggers.rules[0].steps[0].template"


def test_calls_release_the_gil_and_share_one_store_between_threads(store: patron.Store) -> None:
    events = [cart(i) for i in range(3)]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            event: dict[str, Any] = {**events[i % 3], "id": f"t{i}"}
            store.ingest([event], "2024-05-01T10:00:00Z")
            store.stats()
        except BaseException as e:  # noqa: BLE001 - report any failure of a thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.stats()["events"] == 12


def test_an_arrow_table_of_events_goes_in_like_dicts(store: patron.Store) -> None:
    import pyarrow as pa  # type: ignore[import-untyped]

    table = pa.table({
        "type": ["product_viewed", "product_viewed"], "id": ["v1", "v2"], "contact_id": ["c0", "c1"],
        "at": ["2024-05-01T10:00:00Z", "2024-05-01T10:01:00Z"], "product_id": ["p1", "p2"],
    })
    assert store.ingest(table, "2024-05-01T11:00:00Z")["stored"] == 2
    bad = pa.table({"type": ["product_viewed"], "id": ["v3"], "contact_id": ["c0"], "at": ["soon"],
                    "product_id": ["p1"]})
    with pytest.raises(patron.ValidationError) as e:
        store.ingest(bad, "2024-05-01T11:00:00Z")
    assert e.value.path == "events[0].at"
    assert store.stats()["events"] == 2
