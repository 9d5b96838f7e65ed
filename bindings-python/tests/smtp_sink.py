"""A real SMTP server on 127.0.0.1 for the store's tests (aiosmtpd).

It keeps every letter it accepts, and can be told to refuse (a 4xx or 5xx
reply) or to drop the connection, as real servers do. It can speak TLS
(STARTTLS, or TLS from the first byte) with a certificate from a throwaway
CA (`certificates`), and require a login, as a shop's relay does.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Certificates:
    """A throwaway CA and a server certificate it signed, as PEM files."""

    ca: Path
    cert: Path
    key: Path


def certificates(folder: Path) -> Certificates:
    """Makes a CA and a certificate for 127.0.0.1 and localhost with openssl."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=patron test CA",
            "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr")
    (folder / "san.ext").write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    return Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")


@dataclass
class Sink:
    """What the server accepted, and how it answers the next letters."""

    letters: list[email.message.EmailMessage] = field(default_factory=list)
    #: A reply to give instead of accepting (`"451 try later"`), or None.
    refuse_with: str | None = None
    #: Refuse only letters to these addresses (all when empty).
    refuse_to: set[str] = field(default_factory=set)
    #: Logins that succeeded.
    logins: list[str] = field(default_factory=list)
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
    """Starts the sink on a free port; `with SmtpServer() as s: s.port`.

    With `tls` and `certificates`: `"starttls"` requires STARTTLS before
    anything else, `"implicit"` speaks TLS from the first byte (smtps).
    With `users`, a login (PLAIN or LOGIN, over TLS only) is required.
    """

    def __init__(
        self,
        tls: Literal["starttls", "implicit"] | None = None,
        certs: Certificates | None = None,
        users: dict[str, str] | None = None,
    ) -> None:
        self.sink = Sink()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        self._port = int(free)
        options: dict[str, Any] = {}
        if tls is not None:
            assert certs is not None, "TLS needs certificates"
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(certs.cert, certs.key)
            if tls == "starttls":
                options.update(tls_context=context, require_starttls=True)
            else:
                options.update(ssl_context=context)
        if users is not None:
            sink = self.sink

            def authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                              data: Any) -> AuthResult:
                if isinstance(data, LoginPassword):
                    login, password = data.login.decode(), data.password.decode()
                    if users.get(login) == password:
                        with sink.lock:
                            sink.logins.append(login)
                        return AuthResult(success=True)
                return AuthResult(success=False, handled=False)

            # aiosmtpd counts only STARTTLS as TLS when it checks a login;
            # under implicit TLS every byte is encrypted already.
            options.update(auth_required=True, auth_require_tls=tls != "implicit", authenticator=authenticator)
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self._port, **options)

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
