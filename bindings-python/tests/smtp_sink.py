"""A real SMTP server on 127.0.0.1 for the store's tests (aiosmtpd).

It keeps every letter it accepts, and can be told to refuse (a 4xx or 5xx
reply) or to drop the connection, as real servers do.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Sink:
    """What the server accepted, and how it answers the next letters."""

    letters: list[email.message.EmailMessage] = field(default_factory=list)
    #: A reply to give instead of accepting (`"451 try later"`), or None.
    refuse_with: str | None = None
    #: Refuse only letters to these addresses (all when empty).
    refuse_to: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_with and (not self.refuse_to or address in self.refuse_to):
            return self.refuse_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.content
        message = email.message_from_bytes(content, policy=email.policy.default)
        with self.lock:
            self.letters.append(message)
        return "250 OK"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.letters]


class SmtpServer:
    """Starts the sink on a free port; `with SmtpServer() as s: s.port`."""

    def __init__(self) -> None:
        self.sink = Sink()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        self._port = int(free)
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self._port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"
