"""Fixtures of the events tests: settings that let webhooks reach this machine, a receiver, helpers."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app.applications.models import Application
from app.batches.models import Batch
from app.core.ids import new_id
from app.core.outbox import record_event
from app.core.outbox_models import Event
from app.core.settings import Settings
from app.reference.models import Call
from app.worker import Worker


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        storage_dir=tmp_path / "files",
        log_level="WARNING",
        webhook_allowed_hosts="127.0.0.1",
    )


class Receiver:
    """An HTTP server on 127.0.0.1 that records the POSTs it gets whole; fails the first ``fail_first``."""

    def __init__(self, fail_first: int = 0, status: int = 204) -> None:
        self.fail_first = fail_first
        self.status = status
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender went away mid-request (a killed worker): not received
                    self.close_connection = True
                    return
                with receiver.lock:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    failing = len(receiver.requests) <= receiver.fail_first
                self.send_response(500 if failing else receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory() -> Iterator[type[Receiver]]:
    made: list[Receiver] = []

    def make(**kwargs: int) -> Receiver:
        r = Receiver(**kwargs)
        made.append(r)
        return r

    yield make  # type: ignore[misc]
    for r in made:
        r.close()


@pytest.fixture
def worker(app: FastAPI, settings: Settings) -> Iterator[Worker]:
    w = Worker(app.state.database, settings)
    yield w
    w.close()


def emit(app: FastAPI, type: str, subject_id: str | None = None, *, now: datetime | None = None, **scope: str) -> str:
    """Record one event in its own transaction; returns its id."""
    with app.state.database.transaction() as session:
        record_event(
            session, type, SimpleNamespace(id=subject_id or new_id("sub")), now=now or datetime.now(UTC), **scope
        )
        event_id = session.info["smps_pending_events"][-1]["id"]
    return event_id


def make_application(
    app: FastAPI, *, undertaking: str, created_by: str, recommender: str | None = None, state: str = "draft"
) -> str:
    now = datetime.now(UTC)
    with app.state.database.transaction() as session:
        call_id = session.execute(sa.select(Call.id).limit(1)).scalar_one()
        row = Application(
            id=new_id("app"),
            call_id=call_id,
            title="试点申报",
            state=state,
            undertaking_org_id=undertaking,
            recommender_id=recommender,
            province_code="370000",
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        return row.id


def make_batch(app: FastAPI, *, recommender: str, created_by: str, state: str = "open") -> str:
    now = datetime.now(UTC)
    with app.state.database.transaction() as session:
        call_id = session.execute(sa.select(Call.id).limit(1)).scalar_one()
        row = Batch(
            id=new_id("bat"),
            call_id=call_id,
            recommender_id=recommender,
            state=state,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        return row.id


def event_ids_in_order(app: FastAPI) -> list[str]:
    with app.state.database.reader() as session:
        return list(session.execute(sa.select(Event.id).order_by(Event.seq)).scalars())
