"""SQLite driver hooks: connection PRAGMAs and the transaction's ``BEGIN`` sent straight to sqlite3.

``BEGIN`` runs for every transaction, read or write. Emitting it on the driver connection instead of
through ``Connection.exec_driver_sql`` skips SQLAlchemy's execution context for a statement with no
parameters and no result, which costs more than the statement itself (``python -m bench.read_path``).
"""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

SQLITE_BUSY_TIMEOUT_MS = 30000
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
)


def install_sqlite_hooks(engine: Engine, *, immediate: bool) -> None:
    """Every new connection gets the PRAGMAs; every transaction opens with ``BEGIN [IMMEDIATE]``."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # BEGIN is ours to emit, below
        cur = dbapi_conn.cursor()
        for pragma in PRAGMAS:
            cur.execute(pragma)
        cur.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        driver = conn.connection.driver_connection
        assert driver is not None  # a connection being begun is checked out
        driver.execute(begin)


# The page cache of a connection while a bulk transaction applies rows (KiB, as PRAGMA cache_size takes a
# negative size). Such a transaction writes tens of megabytes; with the default 2 MB the cache spills to
# the WAL again and again before the commit (``python -m bench.bulk_import``).
SQLITE_BULK_CACHE_KIB = 64 * 1024


@contextmanager
def large_page_cache(session: Session) -> Iterator[None]:
    """SQLite: a larger page cache for the connection of this transaction, put back before it ends."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    default = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_BULK_CACHE_KIB}")
    try:
        yield
    finally:
        with suppress(sa.exc.DBAPIError):  # a connection that failed is discarded anyway
            connection.exec_driver_sql(f"PRAGMA cache_size={default}")
