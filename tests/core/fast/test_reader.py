"""The event loop's own SQLite read connection: PRAGMAs of the engine, the last commit always seen,
nothing kept from a read, and a broken connection replaced by the next read."""

import sqlite3

import pytest
import sqlalchemy as sa

from app.core.fast.select import DirectSelect
from app.reference.models import Call
from tests.conftest import BACKEND

CALL_NAMES = DirectSelect(sa.select(Call.id, Call.name).order_by(Call.id))


def test_reads_see_the_last_commit_and_keep_nothing(app) -> None:
    database = app.state.database
    if BACKEND != "sqlite":
        assert database.dialect == "postgresql"  # its reads: test_server_reader.py
        return
    reader = database.loop_reader
    with reader.transaction() as db:
        call_id, name = CALL_NAMES.first(db, {})
        assert db.driver.execute("PRAGMA foreign_keys").fetchone() == (1,)  # made by the engine's hook
        assert db.driver.execute("PRAGMA busy_timeout").fetchone() == (30000,)
    with database.transaction() as session:
        session.execute(sa.update(Call).where(Call.id == call_id).values(name=name + "（修订）"))
    with reader.transaction() as db:
        assert CALL_NAMES.first(db, {}).name == name + "（修订）"
        db.driver.execute("CREATE TEMP TABLE scratch (n)")  # whatever a read does is rolled back
    with reader.transaction() as db:
        assert db.driver.in_transaction
        with pytest.raises(sqlite3.OperationalError):
            db.driver.execute("SELECT n FROM scratch")


def test_a_broken_connection_is_replaced(app) -> None:
    database = app.state.database
    if BACKEND != "sqlite":
        return
    reader = database.loop_reader
    with reader.transaction() as db:
        first = db.driver
    first.close()  # as if the file went away under it
    with pytest.raises(sqlite3.Error), reader.transaction():
        pass
    with reader.transaction() as db:
        assert db.driver is not first and CALL_NAMES.first(db, {}) is not None
    database.dispose()
    with pytest.raises(sqlite3.ProgrammingError):  # closed with the engines
        db.driver.execute("SELECT 1")
