"""Real servers on loopback that notifications are sent to in the tests: an HTTP receiver (webhooks,
Slack's chat.postMessage, a GitHub-API-shaped commit status and deployments API, Teams, Opsgenie,
PagerDuty) and an SMTP server with STARTTLS and AUTH (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the HTTP receiver got, and how it answers: `answers` maps a path prefix to
    (status, body); `hold` makes requests to a prefix wait until `release` is set."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    hold: str = ""
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self, prefix: str = "") -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path.startswith(prefix)]

    def wait(self, prefix: str, count: int = 1, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.requests(prefix)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {count} request(s) to {prefix}; got {self.requests()!r}")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            with receiver.lock:
                receiver.received.append(Received(self.command, self.path, dict(self.headers.items()), body))
            if receiver.hold and self.path.startswith(receiver.hold):
                receiver.release.wait(60)
            status, text = next(
                (answer for prefix, answer in sorted(receiver.answers.items(), key=lambda a: -len(a[0]))
                 if self.path.startswith(prefix)),
                (200, "ok"),
            )
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if text.startswith(("{", "[")) else "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def http_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.answers.update(
        {
            "/slack/api/chat.postMessage": (200, '{"ok": true, "ts": "1.2"}'),
            "/github/api/v3/app/installations/": (201, '{"token": "ghs_installation"}'),
            "/github/api/v3/repos/": (201, '{"id": 7}'),
        }
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class Mailbox:
    port: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    def wait(self, count: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {count} mail(s); got {len(self.messages)}")


@contextmanager
def smtp_server(username: str = "cd", password: str = "mail-secret") -> Iterator[Mailbox]:
    """aiosmtpd on loopback: STARTTLS required before MAIL and AUTH (self-signed certificate)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from reconciler.state.redis_server import free_port

    mailbox = Mailbox(port=free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            mailbox.messages.append(
                {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "data": envelope.content.decode(),
                 "tls": session.ssl is not None}
            )
            return "250 OK"

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == username and data.password.decode() == password
        if ok:
            mailbox.logins.append(username)
        return AuthResult(success=ok)

    with tempfile.TemporaryDirectory() as directory:
        cert, key = self_signed_certificate(Path(directory))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        controller = Controller(
            Handler(), hostname="127.0.0.1", port=mailbox.port, tls_context=context, require_starttls=True,
            authenticator=authenticate, auth_require_tls=True,
        )
        controller.start()
        try:
            yield mailbox
        finally:
            controller.stop()
