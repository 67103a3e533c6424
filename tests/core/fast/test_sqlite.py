"""The SQLite driver hooks: each connection tuned, writes opened with ``BEGIN IMMEDIATE``, reads deferred."""

import sqlalchemy as sa

from app.core.fast.sqlite import SQLITE_BULK_CACHE_KIB, large_page_cache
from tests.conftest import BACKEND


def test_connections_are_tuned(app) -> None:
    with app.state.database.read_engine.connect() as conn:
        if BACKEND != "sqlite":
            assert conn.dialect.name == "postgresql"  # no hooks there: nothing to tune
            return
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30000


def test_writer_takes_the_write_lock_at_begin_and_reader_does_not(app) -> None:
    database = app.state.database
    if BACKEND != "sqlite":
        assert database.read_engine is database.write_engine
        return
    with database.write_engine.connect() as writer, writer.begin():
        writer.exec_driver_sql("SELECT 1")
        # Another writer cannot start while the first holds the lock taken by BEGIN IMMEDIATE.
        other = sa.create_engine(database.write_engine.url, connect_args={"timeout": 0})
        try:
            with other.connect() as conn, conn.begin():
                try:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                    taken = False
                except sa.exc.OperationalError as exc:
                    taken = "locked" in str(exc)
            assert taken
        finally:
            other.dispose()
        with database.read_engine.connect() as reader, reader.begin():  # a reader is never held up
            assert reader.exec_driver_sql("SELECT count(*) FROM calls").scalar_one() >= 1


def test_large_page_cache_is_put_back(app) -> None:
    with app.state.database.writer() as session:
        connection = session.connection()
        if BACKEND != "sqlite":
            with large_page_cache(session):
                assert session.execute(sa.text("SELECT 1")).scalar_one() == 1
            return
        before = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
        with large_page_cache(session):
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == -SQLITE_BULK_CACHE_KIB
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == before
        session.rollback()
