"""Fixtures of the mail tests: a real SMTP server (aiosmtpd) on a free loopback port, settings that
point the worker at it, helpers to give users addresses and to read what arrived."""

import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI

from app.accounts.models import User
from app.core.settings import Settings
from app.worker import Worker
from tests.conftest import Actor


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """What the server accepted: one parsed message per recipient of each transaction."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[str, EmailMessage]] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append((rcpt, message))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for rcpt, m in self.received if rcpt == address]

    def addresses(self) -> list[str]:
        with self.lock:
            return sorted(rcpt for rcpt, _ in self.received)


class MailServer:
    """An aiosmtpd server on 127.0.0.1:``port``; ``start``/``stop`` to take it up and down."""

    def __init__(self, port: int, **options: Any) -> None:
        self.port = port
        self.inbox = Inbox()
        self.options = options
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, mail_server: MailServer) -> Settings:
    return Settings(
        database_url=database_url,
        storage_dir=tmp_path / "files",
        log_level="WARNING",
        smtp_url=f"smtp://127.0.0.1:{mail_server.port}",  # type: ignore[arg-type]
        smtp_timeout_seconds=5,
        mail_from="试点申报系统 <noreply@smps.example.cn>",
        public_base_url="https://smps.example.cn/",
    )


@pytest.fixture
def worker(app: FastAPI, settings: Settings) -> Iterator[Worker]:
    w = Worker(app.state.database, settings)
    yield w
    w.close()


def set_email(app: FastAPI, actor: Actor, address: str | None, notifications: bool = True) -> str | None:
    with app.state.database.transaction() as session:
        session.execute(
            sa.update(User).where(User.id == actor.user_id).values(email=address, email_notifications=notifications)  # type: ignore[arg-type]
        )
    return address


def later(start: datetime, **delta: float) -> datetime:
    return start + timedelta(**delta)


def now() -> datetime:
    return datetime.now(UTC)


def self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) for 127.0.0.1, made now."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(days=1))
        .not_valid_after(datetime.now(UTC) + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


class Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username, password

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.username
            and data.password.decode() == self.password
        )
        return AuthResult(success=ok)
