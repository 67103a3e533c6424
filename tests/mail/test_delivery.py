"""Sending notices: a server that is down, bounded retries, a worker that dies mid-batch, several workers."""

import threading
from datetime import datetime

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from app.core.settings import Settings
from app.mail.delivery import Mailer, backoff
from app.mail.models import MailDelivery
from app.mail.smtp import send
from app.worker import Worker
from tests.conftest import Actor, FakeClock
from tests.events.conftest import emit, make_application
from tests.factories import make_org, make_user, seeded_org
from tests.mail.conftest import MailServer, later, now, set_email


def _returned(app: FastAPI, applicants: int = 1) -> tuple[str, list[Actor]]:
    """An application of a new unit with ``applicants`` applicants (with addresses), returned to them."""
    unit = make_org(app)
    actors = [make_user(app, unit, "applicant") for _ in range(applicants)]
    for i, actor in enumerate(actors):
        set_email(app, actor, f"applicant-{i}@example.cn")
    reviewer = make_user(app, make_org(app, recommender_kind="province"), "reviewer")
    application = make_application(app, undertaking=unit, created_by=actors[0].user_id, state="returned")
    emit(
        app,
        "application.state_changed",
        application,
        actor_id=reviewer.user_id,
        application_id=application,
        data={"action": "return", "from": "provincial_review", "to": "returned"},  # type: ignore[arg-type]
    )
    return application, actors


def _rows(app: FastAPI) -> list[MailDelivery]:
    with app.state.database.reader() as session:
        return list(session.execute(sa.select(MailDelivery).order_by(MailDelivery.address)).scalars())


def test_a_server_that_is_down_gets_the_mail_once_it_is_up(
    app: FastAPI, worker: Worker, mail_server: MailServer
) -> None:
    mail_server.stop()
    _returned(app)
    t0 = now()
    result = worker.run_once(t0)
    assert (result.mails_made, result.mails_attempted, result.mails_sent) == (1, 1, 0)
    [row] = _rows(app)
    assert row.state == "pending" and row.attempts == 1 and row.last_error
    assert worker.run_once(later(t0, seconds=59)).mails_attempted == 0  # not due before the backoff
    assert worker.run_once(later(t0, seconds=61)).mails_sent == 0  # still down: retried, kept
    mail_server.start()
    assert worker.run_once(later(t0, seconds=62)).mails_attempted == 0  # the second backoff is longer
    assert worker.run_once(later(t0, minutes=4)).mails_sent == 1
    assert mail_server.inbox.addresses() == ["applicant-0@example.cn"]
    [row] = _rows(app)
    assert (row.state, row.attempts, row.last_error, row.lease_token) == ("sent", 3, None, None)
    assert worker.run_once(later(t0, hours=1)).mails_attempted == 0


def test_retries_are_bounded_and_back_off_exponentially(
    app: FastAPI, settings: Settings, mail_server: MailServer
) -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(30).total_seconds() == 6 * 3600
    mail_server.stop()
    mailer = Mailer(app.state.database, settings.model_copy(update={"mail_max_attempts": 3}))
    _returned(app)
    t: datetime = now()
    mailer.fan_out(t)
    for _ in range(3):
        assert mailer.send_due(lambda at=t: at) == (1, 0)
        t = later(t, hours=7)
    assert mailer.send_due(lambda at=t: at) == (0, 0)
    [row] = _rows(app)
    assert (row.state, row.attempts) == ("failed", 3) and row.completed_at is not None


def test_a_worker_that_dies_after_sending_resends_only_that_message(
    app: FastAPI, settings: Settings, worker: Worker, mail_server: MailServer
) -> None:
    _returned(app, applicants=3)
    t0 = now()
    dying = Mailer(app.state.database, settings)
    assert dying.fan_out(t0) == 3
    claimed = dying.claim(t0)
    assert len(claimed) == 3
    # Another worker finds nothing to take while the lease runs.
    other = Worker(app.state.database, settings)
    try:
        assert other.run_once(later(t0, seconds=1)).mails_attempted == 0
        # The dying worker hands the first message to the server and dies before recording it.
        client = dying.sender.open()
        send(client, dying.compose(claimed[0]))
        client.quit()
        assert worker.run_once(later(t0, seconds=settings.mail_lease_seconds - 1)).mails_attempted == 0
        result = other.run_once(later(t0, seconds=settings.mail_lease_seconds + 1))
    finally:
        other.close()
    assert (result.mails_attempted, result.mails_sent) == (3, 3)
    inbox = mail_server.inbox
    first = inbox.to(claimed[0].address)
    assert len(first) == 2
    assert first[0]["Message-ID"].strip() == first[1]["Message-ID"].strip() == claimed[0].message_id
    for mail in claimed[1:]:
        assert len(inbox.to(mail.address)) == 1
    assert len(inbox.received) == 4  # three messages, one of them resent once
    assert {r.state for r in _rows(app)} == {"sent"}
    # The dead worker's late record changes nothing: its lease was taken over.
    dying.record(claimed[1], later(t0, hours=1), "late")
    assert {(r.state, r.last_error) for r in _rows(app)} == {("sent", None)}
    assert worker.run_once(later(t0, hours=2)).mails_attempted == 0


def test_message_ids_are_those_of_the_event_and_the_recipient(
    app: FastAPI, worker: Worker, mail_server: MailServer
) -> None:
    _returned(app, applicants=2)
    worker.run_once(now())
    rows = _rows(app)
    assert len({r.message_id for r in rows}) == 2
    for row in rows:
        assert row.message_id == f"<{row.event_id}.{row.user_id}@smps.example.cn>"
        [message] = mail_server.inbox.to(row.address)
        assert message["Message-ID"].strip() == row.message_id  # (folded: the header is long)


def test_events_before_mail_was_turned_on_are_not_mailed(
    app: FastAPI, settings: Settings, mail_server: MailServer
) -> None:
    off = Worker(app.state.database, settings.model_copy(update={"smtp_url": None}))
    try:
        _returned(app)
        assert off.run_once(now()).mails_made == 0
    finally:
        off.close()
    on = Worker(app.state.database, settings)
    try:
        assert on.run_once(now()).mails_made == 0
        _returned(app)
        assert on.run_once(now()).mails_sent == 1
    finally:
        on.close()


async def test_undelivered_mails_in_metrics(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, worker: Worker, mail_server: MailServer
) -> None:
    admin = make_user(app, seeded_org(app, "office"), "admin")

    async def gauges() -> tuple[float, float]:
        r = await client.get("/metrics", headers=admin.headers)
        assert r.status_code == 200, r.text
        values = {
            line.split(" ")[0]: float(line.split(" ")[1])
            for line in r.text.splitlines()
            if line.startswith("smps_mail")
        }
        return values["smps_mails_undelivered"], values["smps_mail_oldest_undelivered_age_seconds"]

    assert await gauges() == (0, 0)
    mail_server.stop()
    _returned(app, applicants=2)
    worker.run_once(clock.now)
    clock.advance(minutes=5)
    count, age = await gauges()
    assert count == 2 and 300 <= age < 310
    mail_server.start()
    worker.run_once(clock.now)
    assert await gauges() == (0, 0)


def test_workers_sharing_the_queue_send_each_mail_once(
    app: FastAPI, settings: Settings, mail_server: MailServer
) -> None:
    _returned(app, applicants=12)
    workers = [Worker(app.state.database, settings) for _ in range(3)]
    t0 = now()
    results: list[tuple[int, int]] = []
    lock = threading.Lock()

    def run(worker: Worker) -> None:
        result = worker.run_once(t0)
        with lock:
            results.append((result.mails_made, result.mails_sent))

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for w in workers:
            w.close()
    assert sum(made for made, _ in results) == 12 and sum(sent for _, sent in results) == 12
    addresses = mail_server.inbox.addresses()
    assert len(addresses) == 12 and len(set(addresses)) == 12
    assert {(r.state, r.attempts) for r in _rows(app)} == {("sent", 1)}
