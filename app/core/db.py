"""Engines and the one way a unit of work ends (``Database.transaction``).

SQLite is the embedded default: WAL, foreign keys on, a busy timeout, and write transactions
opened with ``BEGIN IMMEDIATE`` so two writers queue instead of failing half-way. Reads use a
separate engine with deferred transactions so they never wait for a writer. PostgreSQL is the
production store (psycopg 3); there one engine serves both.
"""

import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlmodel import SQLModel

from app.core.fast.reader import LoopReader
from app.core.fast.server_reader import LoopStatements, ServerReader
from app.core.fast.sqlite import SQLITE_BUSY_TIMEOUT_MS, install_sqlite_hooks
from app.core.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores UTC; always returns timezone-aware UTC datetimes, on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = sa.create_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=20,
        max_overflow=20,
        poolclass=sa.pool.QueuePool,
    )

    install_sqlite_hooks(engine, immediate=immediate)

    return engine


# Connections of each process beyond its pool, PostgreSQL only: for the reads of several statements (one
# per read thread) and for the one-statement reads awaited on the event loop.
READ_THREADS = 2
LOOP_STATEMENTS = 4


@dataclass
class Database:
    """The engines of one running service."""

    write_engine: Engine
    read_engine: Engine
    writer: sessionmaker[Session] = field(init=False)
    reader: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.writer = sessionmaker(self.write_engine, expire_on_commit=False)
        self.reader = sessionmaker(self.read_engine, expire_on_commit=False)

    @contextmanager
    def transaction(self, *, read: bool = False) -> Iterator[Session]:
        """One unit of work, on the writer (or, ``read=True``, the reader that never waits for a writer).

        The only place that commits: when the block finishes cleanly, the events it recorded are
        written (the outbox) and the transaction commits; on any exception it rolls back, the recorded
        events with it. The session is closed either way.
        """
        # Imported here: the event table's column types are defined in this module.
        from app.core.outbox import discard_events, flush_events

        session = (self.reader if read else self.writer)()
        try:
            yield session
            flush_events(session)
            session.commit()
        except BaseException:
            discard_events(session)
            session.rollback()
            raise
        finally:
            session.close()

    def write_now(self, write: Callable[[sa.Connection], object]) -> bool:
        """Run ``write`` in a short transaction of its own that never waits for another writer: False,
        nothing written, when SQLite's lock is held (busy timeout 0 for this one) or a row it needs
        stays locked on PostgreSQL past ``lock_timeout`` (100 ms). For bookkeeping that a later call
        redoes (an API key's last use, a lease's renewal), not for the request's own work."""
        with self.write_engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            driver = conn.connection.driver_connection  # PRAGMAs on the driver: SQLAlchemy would begin first
            assert driver is not None
            if sqlite:
                driver.execute("PRAGMA busy_timeout=0")
            try:
                with conn.begin():
                    if not sqlite:
                        conn.exec_driver_sql("SET LOCAL lock_timeout = '100ms'")
                    write(conn)
                return True
            except (sa.exc.OperationalError, sqlite3.OperationalError):  # BEGIN IMMEDIATE fails in the driver
                return False
            finally:
                if sqlite:
                    driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @functools.cached_property
    def loop_reader(self) -> LoopReader:
        """SQLite: read transactions on the event loop's own connection (``app.core.fast.reader``)."""
        return LoopReader(self.read_engine)

    @functools.cached_property
    def server_reader(self) -> ServerReader:
        """PostgreSQL: reads on driver connections kept out of the pool (``app.core.fast.server_reader``)."""
        return ServerReader(self.read_engine, threads=READ_THREADS)

    @functools.cached_property
    def loop_statements(self) -> LoopStatements:
        """PostgreSQL: one-statement reads awaited on the event loop (``app.core.fast.server_reader``)."""
        return LoopStatements(self.read_engine, size=LOOP_STATEMENTS)

    def dispose(self) -> None:
        for reader in ("loop_reader", "server_reader", "loop_statements"):
            if reader in self.__dict__:
                self.__dict__[reader].close()
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def make_database(settings: Settings) -> Database:
    url = settings.database_url
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return Database(_sqlite_engine(url, immediate=True), _sqlite_engine(url, immediate=False))
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = sa.create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )
    return Database(engine, engine)
