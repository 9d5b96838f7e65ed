"""The store run by the `patron` command, against a real SMTP server.

These tests start aiosmtpd on 127.0.0.1, run the `patron` binary that
`cargo test -p patron-store` built, and kill it (SIGKILL) at random points
to check that nothing is lost and nothing goes twice.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from smtp_sink import SmtpServer, certificates

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("PATRON_BIN", ROOT / "target" / "debug" / "patron"))

T0 = "2024-05-01T10:00:00Z"


def config(lease_seconds: int = 300) -> dict[str, Any]:
    return {
        "triggers": {
            "rules": [
                {
                    "id": "abandoned_cart",
                    "trigger": {"on": "product", "action": "carted"},
                    "steps": [{"name": "1h", "delay": "1h", "template": "cart"}],
                    "exit": [{"on": "event", "event": "order_placed", "same_products": True}],
                },
                {
                    "id": "receipt",
                    "purpose": "transactional",
                    "trigger": {"on": "event", "event": "order_placed"},
                    "key": "order",
                    "reentry": {"type": "always"},
                    "steps": [{"name": "now", "template": "receipt"}],
                },
            ],
        },
        "templates": {
            "cart": {"subject": "{{ contact.first_name }}, your cart", "text": "It waits: {{ links.unsubscribe }}"},
            "receipt": {"subject": "Order received", "text": "Thank you."},
        },
        "sender": {
            "from": "Shop <news@shop.example>",
            "unsubscribe_url": "https://shop.example/unsubscribe",
            "link_key": "test-key",
            "lease_seconds": lease_seconds,
            "retry_seconds": 60,
            "max_attempts": 3,
        },
    }


def contact(i: int) -> dict[str, Any]:
    return {
        "id": f"c{i}",
        "first_name": f"Ann{i}",
        "email": f"c{i}@example.com",
        "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}},
    }


def cart(i: int) -> dict[str, Any]:
    return {
        "type": "cart_updated", "id": f"cart-{i}", "contact_id": f"c{i}", "at": T0, "currency": "EUR",
        "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}],
    }


def order(i: int) -> dict[str, Any]:
    return {
        "type": "order_placed", "id": f"order-{i}", "contact_id": f"c{i}", "at": "2024-05-01T10:10:00Z",
        "order_id": f"o{i}", "currency": "EUR", "total": 30,
        "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}],
    }


def patron(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert BIN.exists(), f"{BIN} is missing: `cargo test -p patron-store` builds it"
    done = subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def shop(tmp: Path, contacts: int, lease_seconds: int = 300) -> Path:
    db = tmp / "shop.db"
    (tmp / "config.json").write_text(json.dumps(config(lease_seconds)))
    (tmp / "contacts.json").write_text(json.dumps([contact(i) for i in range(contacts)]))
    patron("config", "--db", str(db), str(tmp / "config.json"))
    patron("contacts", "--db", str(db), str(tmp / "contacts.json"), "--now", "2024-05-01T09:00:00Z")
    return db


def at(seconds: float) -> str:
    base = 1714557600  # T0
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + seconds))


def test_letters_reach_a_real_smtp_server_with_their_headers(tmp_path: Path) -> None:
    db = shop(tmp_path, 3)
    events = [cart(0), cart(1), cart(2), order(2)]
    (tmp_path / "events.ndjson").write_text("\n".join(json.dumps(e) for e in events))
    out = patron("ingest", "--db", str(db), str(tmp_path / "events.ndjson"), "--now", at(600))
    assert "4 events stored" in out.stdout
    with SmtpServer() as smtp:
        patron("run", "--db", str(db), "--smtp", smtp.address, "--now", at(3600))
        letters = smtp.sink.letters
        subjects = sorted(str(m["Subject"]) for m in letters)
        assert subjects == ["Ann0, your cart", "Ann1, your cart", "Order received"]
        cart0 = next(m for m in letters if m["To"] == "c0@example.com")
        assert str(cart0["Message-ID"]).endswith("@shop.example>")
        assert str(cart0["List-Unsubscribe"]).startswith("<https://shop.example/unsubscribe?token=")
        assert cart0["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # Nothing goes twice: a second pass finds nothing to send.
        patron("run", "--db", str(db), "--smtp", smtp.address, "--now", at(3700))
        assert len(smtp.sink.letters) == 3
    stats = json.loads(patron("stats", "--db", str(db), "--json").stdout)
    assert stats["outbox"] == {"sent": 3}
    assert stats["message_events"] == {"message_sent": 3}
    assert stats["events"] == 4 + 3


def test_refusals_retry_and_fail_and_a_hard_bounce_withdraws_consent(tmp_path: Path) -> None:
    db = shop(tmp_path, 2)
    (tmp_path / "events.ndjson").write_text("\n".join(json.dumps(cart(i)) for i in range(2)))
    patron("ingest", "--db", str(db), str(tmp_path / "events.ndjson"), "--now", at(0))
    with SmtpServer() as smtp:
        smtp.sink.refuse_with = "451 4.3.0 try again later"
        smtp.sink.refuse_to = {"c0@example.com"}
        patron("run", "--db", str(db), "--smtp", smtp.address, "--now", at(3600))
        assert [m["To"] for m in smtp.sink.letters] == ["c1@example.com"]
        smtp.sink.refuse_with = "550 5.1.1 no such user"
        patron("run", "--db", str(db), "--smtp", smtp.address, "--now", at(3660))
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT contact_id, status FROM outbox").fetchall())
        log = [r[0] for r in conn.execute("SELECT result FROM send_log ORDER BY seq").fetchall()]
        body = conn.execute("SELECT body FROM contacts WHERE id = 'c0'").fetchone()[0]
    assert rows == {"c0": "failed", "c1": "sent"}
    assert log == ["retry", "sent", "failed"]
    assert json.loads(body)["consent"]["email"]["marketing"]["status"] == "unsubscribed"


def test_a_server_that_is_down_or_silent_fails_the_attempt_not_the_store(tmp_path: Path) -> None:
    db = shop(tmp_path, 1)
    (tmp_path / "events.ndjson").write_text(json.dumps(cart(0)))
    patron("ingest", "--db", str(db), str(tmp_path / "events.ndjson"), "--now", at(0))
    # Nothing listens on this port.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    patron("run", "--db", str(db), "--smtp", f"127.0.0.1:{closed}", "--now", at(3600))
    # A server that takes the connection and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    started = time.monotonic()
    patron("run", "--db", str(db), "--smtp", f"127.0.0.1:{silent.getsockname()[1]}",
           "--smtp-timeout", "0.5", "--now", at(3660))
    assert time.monotonic() - started < 30
    silent.close()
    with SmtpServer() as smtp:
        patron("run", "--db", str(db), "--smtp", smtp.address, "--now", at(3900))
        assert len(smtp.sink.letters) == 1
    with sqlite3.connect(db) as conn:
        log = [r[0] for r in conn.execute("SELECT result FROM send_log ORDER BY seq").fetchall()]
    assert log == ["retry", "retry", "sent"]


def test_letters_go_over_tls_with_a_login_and_not_to_a_server_it_cannot_trust(tmp_path: Path) -> None:
    """STARTTLS and TLS from the first byte, with AUTH, against aiosmtpd
    with a certificate from a throwaway CA that `ca=` trusts."""
    certs = certificates(tmp_path)
    db = shop(tmp_path, 4)
    (tmp_path / "events.ndjson").write_text("\n".join(json.dumps(cart(i)) for i in range(4)))
    patron("ingest", "--db", str(db), str(tmp_path / "events.ndjson"), "--now", at(0))
    ca = f"ca={certs.ca}"

    def statuses() -> dict[str, tuple[str, str | None]]:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT contact_id, status, reason FROM outbox").fetchall()
        return {c: (status, reason) for c, status, reason in rows}

    with SmtpServer(tls="starttls", certs=certs, users={"ann": "s3cret"}) as smtp:
        port = smtp.port
        # Not trusted without `ca`: nothing goes, the letter waits.
        patron("run", "--db", str(db), "--smtp", f"smtp://ann:s3cret@127.0.0.1:{port}?tls=required",
               "--now", at(3600))
        assert smtp.sink.letters == [] and smtp.sink.logins == []
        status, reason = next(iter(statuses().values()))
        assert status == "queued" and reason is not None and "certificate" in reason.lower(), reason
        # A wrong password: refused by the server, the letter waits.
        patron("run", "--db", str(db), "--smtp", f"smtp://ann:wrong@127.0.0.1:{port}?tls=required&{ca}",
               "--now", at(3700))
        assert smtp.sink.letters == []
        status, reason = next(iter(statuses().values()))
        assert status == "queued" and reason is not None and "AUTH" in reason, reason
        # Trusted, logged in: every letter goes (the earlier attempts' backoff is over).
        patron("run", "--db", str(db), "--smtp", f"smtp://ann:s3cret@127.0.0.1:{port}?tls=required&{ca}",
               "--now", at(7200))
        assert sorted(str(m["To"]) for m in smtp.sink.letters) == [f"c{i}@example.com" for i in range(4)]
        assert smtp.sink.logins == ["ann"], "one connection, reused for every letter"

    # TLS from the first byte (smtps): the same contacts' receipts.
    (tmp_path / "more.ndjson").write_text("\n".join(json.dumps(order(i)) for i in range(4)))
    patron("ingest", "--db", str(db), str(tmp_path / "more.ndjson"), "--now", at(86_400))
    with SmtpServer(tls="implicit", certs=certs, users={"ann": "s3cret"}) as smtp:
        patron("run", "--db", str(db), "--smtp", f"smtps://ann:s3cret@127.0.0.1:{smtp.port}?{ca}",
               "--now", at(86_400 + 3600))
        assert [str(m["Subject"]) for m in smtp.sink.letters] == ["Order received"] * 4, statuses()
        assert smtp.sink.logins == ["ann"]
    assert {status for status, _ in statuses().values()} == {"sent"}

    # A password is never sent in the clear: refused before anything is tried.
    done = patron("run", "--db", str(db), "--smtp", "smtp://ann:s3cret@127.0.0.1:25", check=False)
    assert done.returncode == 5 and "only sent over TLS" in done.stderr, done.stderr
    assert "s3cret" not in done.stderr


def test_the_command_names_bad_input_and_exits_with_its_code(tmp_path: Path) -> None:
    db = shop(tmp_path, 1)
    lines = [json.dumps(cart(0)), '{"type": "cart_updated", "id": "x", "contact_id": "c0", "at": "soon"}']
    (tmp_path / "bad.ndjson").write_text("\n".join(lines))
    done = patron("ingest", "--db", str(db), "--batch", "1", str(tmp_path / "bad.ndjson"), check=False)
    assert done.returncode == 3
    assert "line 2: at:" in done.stderr
    # The first batch went in (its own transaction); the bad one did not.
    assert json.loads(patron("stats", "--db", str(db), "--json").stdout)["events"] == 1
    (tmp_path / "junk.db").write_bytes(b"not a database" * 100)
    done = patron("stats", "--db", str(tmp_path / "junk.db"), check=False)
    assert done.returncode == 4 and "not a database" in done.stderr
    assert patron("frobnicate", check=False).returncode == 2


def kill_soon(process: subprocess.Popen[str], rng: random.Random) -> None:
    time.sleep(rng.uniform(0, 0.025))
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)


def test_killed_at_random_points_nothing_is_lost_and_nothing_goes_twice(tmp_path: Path) -> None:
    """SIGKILL during ingest, run and send, hundreds of times, with two
    workers on one file; then check the SMTP server's letters against the
    store."""
    contacts = 300
    kills = int(os.environ.get("PATRON_KILLS", "200"))
    rng = random.Random(17)
    db = shop(tmp_path, contacts, lease_seconds=1)
    events = [cart(i) for i in range(contacts)] + [order(i) for i in range(0, contacts, 3)]
    rng.shuffle(events)
    rounds = kills // 2
    chunks = [events[i::rounds] for i in range(rounds)]
    killed = 0

    def start(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([str(BIN), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def settle(p: subprocess.Popen[str]) -> bool:
        p.wait()
        assert p.returncode in (0, -signal.SIGKILL), p.stderr.read() if p.stderr else ""
        return p.returncode == -signal.SIGKILL

    with SmtpServer() as smtp:
        # Each round: ingest a new slice of events (and the last one again,
        # in case it was killed: repeats are dropped by id), killed at a
        # random point; then two workers on the file, one killed. The clock
        # moves two seconds a round, past the one-second leases of the dead.
        clock = 3600.0
        for i in range(rounds):
            slice_file = tmp_path / f"slice-{i}.ndjson"
            again = chunks[i - 1] if i else []
            slice_file.write_text("\n".join(json.dumps(e) for e in again + chunks[i]))
            p = start("ingest", "--db", str(db), "--batch", "3", "--now", at(clock), str(slice_file))
            kill_soon(p, rng)
            killed += settle(p)
            clock += 2
            args = ["run", "--db", str(db), "--smtp", smtp.address, "--now", at(clock)]
            pair = [start(*args), start(*args)]
            victim = pair[rng.randrange(2)]
            killer = threading.Thread(target=kill_soon, args=(victim, rng))
            killer.start()
            outcomes = [settle(p) for p in pair]
            killer.join()
            killed += sum(outcomes)
        (tmp_path / "events.ndjson").write_text("\n".join(json.dumps(e) for e in events))
        patron("ingest", "--db", str(db), "--now", at(clock), str(tmp_path / "events.ndjson"))
        patron("run", "--db", str(db), "--smtp", smtp.address, "--now", at(clock + 10))
        message_ids = smtp.sink.message_ids()
    assert killed >= kills // 3, f"only {killed} of {kills} processes were killed mid-work"

    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT count(*) FROM events WHERE type IN ('cart_updated', 'order_placed')").fetchone()[0]
        outbox = conn.execute("SELECT message_id, status, contact_id, rule FROM outbox").fetchall()
        sends = conn.execute("SELECT count(*) FROM actions WHERE type = 'send'").fetchone()[0]
        resumed = {r[0] for r in conn.execute(
            "SELECT o.message_id FROM send_log l JOIN outbox o ON o.seq = l.outbox_seq WHERE l.result = 'resumed'")}
        sent_events = conn.execute("SELECT count(*) FROM events WHERE type = 'message_sent'").fetchone()[0]
        leased = conn.execute("SELECT count(*) FROM states WHERE lease_owner IS NOT NULL").fetchone()[0]
        folded = conn.execute("SELECT count(*) FROM message_events WHERE type = 'message_sent'").fetchone()[0]
        pending = conn.execute("SELECT count(*) FROM pending").fetchone()[0]

    # No event lost, every decision queued once, every letter sent.
    assert stored == len(events)
    assert sends == len(outbox)
    assert {status for _, status, _, _ in outbox} == {"sent"}, Counter(s for _, s, _, _ in outbox)
    # A cart reminder for every cart; a buyer's cart may have been reminded
    # of before the order arrived (its slice came later), never after.
    made = {(rule, c) for _, _, c, rule in outbox}
    receipts = {("receipt", f"c{i}") for i in range(0, contacts, 3)}
    reminded = {("abandoned_cart", f"c{i}") for i in range(contacts) if i % 3}
    assert receipts | reminded <= made
    assert made - receipts - reminded <= {("abandoned_cart", f"c{i}") for i in range(0, contacts, 3)}
    assert sent_events == folded == len(outbox)
    assert (leased, pending) == (0, 0)
    # Every letter arrived; one arrived twice only where the store knows its
    # sender stopped mid-send (it then goes again with the same Message-ID).
    arrived = Counter(m.strip("<>").split("@")[0] for m in message_ids)
    assert set(arrived) == {m for m, _, _, _ in outbox}
    twice = {m for m, n in arrived.items() if n > 1}
    print(f"{killed} killed, {len(resumed)} letters resumed, {len(twice)} arrived twice")
    assert twice <= resumed, (twice - resumed)


def test_the_python_package_installs_the_same_command(tmp_path: Path) -> None:
    """`patron` as a console script of the Python package is the same command."""
    import sys

    db = shop(tmp_path, 2)
    script = Path(sys.executable).parent / "patron"
    for command in ([str(script)], [sys.executable, "-m", "patron.cli"]):
        done = subprocess.run([*command, "stats", "--db", str(db), "--json"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["contacts"] == 2
        bad = subprocess.run([*command, "stats", "--db", str(tmp_path / "nothing.db")], capture_output=True, text=True,
                             timeout=60)
        assert bad.returncode == 4 and "no config" in bad.stderr
        assert not (tmp_path / "nothing.db").exists(), "a mistyped path leaves no file behind"
        assert subprocess.run([*command, "--version"], capture_output=True, timeout=60).returncode == 0


def test_a_file_size_limit_stops_ingest_whole_batches_at_a_time(tmp_path: Path) -> None:
    """A full disk, as a small file-size limit (RLIMIT_FSIZE, with SIGXFSZ
    ignored so the write fails instead of killing the process)."""
    import resource

    db = shop(tmp_path, 0)
    lines = [json.dumps(cart(i)) for i in range(4000)]
    (tmp_path / "many.ndjson").write_text("\n".join(lines))

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        size = db.stat().st_size + 1_500_000
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    done = subprocess.run([str(BIN), "ingest", "--db", str(db), "--batch", "250", "--now", at(0),
                           str(tmp_path / "many.ndjson")], capture_output=True, text=True, timeout=120,
                          preexec_fn=limited)
    assert done.returncode == 4, done.stderr
    assert "the disk is full" in done.stderr and "nothing of this call was stored" in done.stderr
    # The store opens, whole: only whole batches went in, and their rows agree.
    stats = json.loads(patron("stats", "--db", str(db), "--json").stdout)
    assert 0 < stats["events"] < 4000 and stats["events"] % 250 == 0, stats
    assert stats["states"] == stats["events"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Without the limit the rest goes in; the stored ones are repeats.
    out = patron("ingest", "--db", str(db), "--now", at(0), str(tmp_path / "many.ndjson")).stdout
    assert f"{4000 - stats['events']} events stored, {stats['events']} repeats dropped" in out


def test_output_closed_by_its_reader_ends_the_command_quietly(tmp_path: Path) -> None:
    db = shop(tmp_path, 1)
    done = subprocess.run(f"'{BIN}' stats --db '{db}' --json | head -1", shell=True, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout == "{\n" and done.stderr == "", done.stderr
