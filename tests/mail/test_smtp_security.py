"""The SMTP URL, credentials (AUTH), STARTTLS and implicit TLS, against aiosmtpd with a certificate made here."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import SecretStr, ValidationError

from app.core.settings import Settings
from app.mail.delivery import Mailer
from app.mail.models import MailDelivery
from app.mail.smtp import SmtpSender, parse_smtp_url, server_of
from tests.events.conftest import emit, make_application
from tests.factories import make_org, make_user
from tests.mail.conftest import Authenticator, MailServer, free_port, now, self_signed, set_email


def _one_notice(app: FastAPI) -> None:
    unit = make_org(app)
    applicant = make_user(app, unit, "applicant")
    set_email(app, applicant, "applicant@example.cn")
    application = make_application(app, undertaking=unit, created_by=applicant.user_id, state="rejected")
    emit(
        app,
        "application.state_changed",
        application,
        application_id=application,
        data={"action": "reject", "from": "provincial_review", "to": "rejected"},  # type: ignore[arg-type]
    )


@pytest.fixture
def secure_server(tmp_path: Path) -> Iterator[tuple[MailServer, Any]]:
    server_context, client_context = self_signed(tmp_path)
    server = MailServer(
        free_port(),
        tls_context=server_context,
        require_starttls=True,
        authenticator=Authenticator("smps-mailer", "pa ss@word"),
        auth_require_tls=True,
    )
    server.start()
    yield server, client_context
    server.stop()


def test_starttls_and_credentials_in_the_url(
    app: FastAPI, settings: Settings, secure_server: tuple[MailServer, Any]
) -> None:
    server, client_context = secure_server
    url = f"smtp://smps-mailer:pa%20ss%40word@127.0.0.1:{server.port}?starttls=true"
    configured = settings.model_copy(update={"smtp_url": SecretStr(url)})
    mailer = Mailer(app.state.database, configured, sender=SmtpSender(server_of(configured), 5, client_context))
    _one_notice(app)
    mailer.fan_out(now())
    assert mailer.send_due(now) == (1, 1)
    assert server.inbox.addresses() == ["applicant@example.cn"]


def test_wrong_credentials_keep_the_mail_pending(
    app: FastAPI, settings: Settings, secure_server: tuple[MailServer, Any]
) -> None:
    server, client_context = secure_server
    configured = settings.model_copy(
        update={
            "smtp_url": SecretStr(f"smtp://127.0.0.1:{server.port}?starttls=true"),
            "smtp_username": "smps-mailer",
            "smtp_password": SecretStr("wrong"),
        }
    )
    mailer = Mailer(app.state.database, configured, sender=SmtpSender(server_of(configured), 5, client_context))
    _one_notice(app)
    mailer.fan_out(now())
    assert mailer.send_due(now) == (1, 0)
    with app.state.database.reader() as session:
        row = session.execute(sa.select(MailDelivery)).scalar_one()
    assert row.state == "pending" and row.last_error and "wrong" not in row.last_error
    assert server.inbox.received == []


def test_a_plain_client_is_refused_by_a_server_that_requires_starttls(
    app: FastAPI, settings: Settings, secure_server: tuple[MailServer, Any]
) -> None:
    server, _ = secure_server
    configured = settings.model_copy(
        update={"smtp_url": SecretStr(f"smtp://smps-mailer:pa%20ss%40word@127.0.0.1:{server.port}")}
    )
    mailer = Mailer(app.state.database, configured)
    _one_notice(app)
    mailer.fan_out(now())
    assert mailer.send_due(now) == (1, 0)
    assert server.inbox.received == []


def test_implicit_tls(app: FastAPI, settings: Settings, tmp_path: Path) -> None:
    server_context, client_context = self_signed(tmp_path)
    server = MailServer(free_port(), ssl_context=server_context)
    server.start()
    try:
        configured = settings.model_copy(update={"smtp_url": SecretStr(f"smtps://127.0.0.1:{server.port}")})
        mailer = Mailer(app.state.database, configured, sender=SmtpSender(server_of(configured), 5, client_context))
        _one_notice(app)
        mailer.fan_out(now())
        assert mailer.send_due(now) == (1, 1)
        assert server.inbox.addresses() == ["applicant@example.cn"]
    finally:
        server.stop()


def test_smtp_urls() -> None:
    plain = parse_smtp_url("smtp://mail.example.cn")
    assert (plain.host, plain.port, plain.tls, plain.starttls, plain.username) == (
        "mail.example.cn",
        25,
        False,
        False,
        None,
    )
    upgraded = parse_smtp_url("smtp://u%40x:p%3Aw@mail.example.cn?starttls=true")
    assert (upgraded.port, upgraded.starttls, upgraded.username, upgraded.password) == (587, True, "u@x", "p:w")
    implicit = parse_smtp_url("smtps://mail.example.cn:2465", "user", "secret")
    assert (implicit.port, implicit.tls, implicit.username, implicit.password) == (2465, True, "user", "secret")
    assert implicit.encrypted and not plain.encrypted
    for bad in (
        "http://mail.example.cn",
        "smtp://",
        "smtp://h?starttls=maybe",
        "smtps://h?starttls=true",
        "smtp://h?x=1",
    ):
        with pytest.raises(ValueError) as caught:
            parse_smtp_url(bad)
        assert "SMPS_SMTP_URL" in str(caught.value)


def test_a_bad_smtp_url_is_refused_at_start_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(database_url="sqlite://", storage_dir=tmp_path, smtp_url="ftp://user:hunter2@host")  # type: ignore[arg-type]
    assert "smtp:// or smtps://" in str(caught.value) and "hunter2" not in str(caught.value)
    assert not Settings(database_url="sqlite://", storage_dir=tmp_path).mail_enabled
