"""PostgreSQL's kept read connections: one statement at a time in autocommit, several on one read-only
snapshot, a connection the server dropped replaced without failing the read, and on the event loop the
same rows as the engine's, never more connections than allowed."""

import asyncio

import asyncpg
import psycopg
import pytest
import sqlalchemy as sa

from app.core.fast.select import DirectSelect
from app.core.fast.server_reader import LoopStatements
from app.reference.models import Call

pytestmark = pytest.mark.postgresql_only  # SQLite reads on the loop's own connection: test_reader.py

CALLS = sa.select(Call.id, Call.name, Call.deadline).order_by(Call.id)
FIRST_CALL = DirectSelect(CALLS.limit(1))
CALL_BY_ID = DirectSelect(sa.select(Call.id, Call.name, Call.deadline).where(Call.id == sa.bindparam("call_id")))


def _backend_pid(db) -> int:  # type: ignore[no-untyped-def]
    return db.driver.execute("SELECT pg_backend_pid()").fetchone()[0]


def _terminate(app, pid: int) -> None:  # type: ignore[no-untyped-def]
    with app.state.database.write_engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.commit()


def test_statements_alone_and_on_a_snapshot(app) -> None:
    reader = app.state.database.server_reader
    call_id, name, _ = reader.run(lambda db: FIRST_CALL.first(db, {}))

    def alone(db):  # type: ignore[no-untyped-def]
        assert db.driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # autocommit
        return CALL_BY_ID.first(db, {"call_id": call_id}).name

    assert reader.run(alone) == name

    def on_snapshot(db):  # type: ignore[no-untyped-def]
        isolation = db.driver.execute("SHOW transaction_isolation").fetchone()[0]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            db.driver.execute("UPDATE calls SET name = 'x'")
        return isolation

    assert reader.run(on_snapshot, snapshot=True) == "repeatable read"
    assert reader.run(alone) == name  # nothing written, and the connection went back clean


def test_a_snapshot_sees_one_moment(app) -> None:
    reader = app.state.database.server_reader
    call_id, name, _ = reader.run(lambda db: FIRST_CALL.first(db, {}))

    def read(db):  # type: ignore[no-untyped-def]
        before = CALL_BY_ID.first(db, {"call_id": call_id}).name
        with app.state.database.transaction() as session:
            session.execute(sa.update(Call).where(Call.id == call_id).values(name="改名"))
        return before, CALL_BY_ID.first(db, {"call_id": call_id}).name

    assert reader.run(read, snapshot=True) == (name, name)
    assert reader.run(lambda db: CALL_BY_ID.first(db, {"call_id": call_id}).name) == "改名"


def test_a_dropped_connection_is_replaced_and_a_failed_read_raises(app) -> None:
    reader = app.state.database.server_reader
    pid = reader.run(_backend_pid)
    _terminate(app, pid)  # as a server restart or an idle timeout would
    assert reader.run(_backend_pid) != pid  # the read answered, on a new connection
    with pytest.raises(psycopg.errors.UndefinedTable):
        reader.run(lambda db: db.driver.execute("SELECT * FROM no_such_table"))
    assert reader.run(lambda db: FIRST_CALL.first(db, {})) is not None
    app.state.database.dispose()  # closed with the engines; a read after that keeps nothing
    assert reader.run(lambda db: FIRST_CALL.first(db, {})) is not None and reader._idle.empty()


async def test_loop_statements_answer_as_the_engine(app) -> None:
    database = app.state.database
    with database.read_engine.connect() as conn:
        expected = conn.execute(CALLS.limit(1)).one()
    statements = database.loop_statements
    row = await statements.first(FIRST_CALL, {})
    assert tuple(row) == tuple(expected) and row.deadline.tzinfo is not None
    assert await statements.first(CALL_BY_ID, {"call_id": "no-such-call"}) is None


async def test_loop_statements_stay_within_their_connections(app) -> None:
    statements = app.state.database.loop_statements
    pids = set()
    pid_of = DirectSelect(sa.select(sa.func.pg_backend_pid().label("pid"), sa.func.pg_sleep(0.05).label("slept")))

    async def one() -> None:
        pids.add((await statements.first(pid_of, {})).pid)

    await asyncio.gather(*(one() for _ in range(3 * statements.size)))
    assert 1 < len(pids) <= statements.size  # several at once, never more than allowed
    assert len(statements._idle) == len(pids)


async def test_loop_statements_replace_a_dropped_connection(app) -> None:
    statements = app.state.database.loop_statements
    pid_of = DirectSelect(sa.select(sa.func.pg_backend_pid().label("pid")))
    pid = (await statements.first(pid_of, {})).pid
    _terminate(app, pid)
    replaced = (await statements.first(pid_of, {})).pid
    assert replaced != pid
    with pytest.raises(asyncpg.exceptions.UndefinedFunctionError):  # a failed statement: the connection stays
        await statements.first(DirectSelect(sa.select(sa.func.no_such_function().label("x"))), {})
    assert (await statements.first(pid_of, {})).pid == replaced


async def test_a_cancelled_statement_leaves_no_connection_half_used(app) -> None:
    statements = app.state.database.loop_statements
    slow = DirectSelect(sa.select(sa.func.pg_sleep(5).label("slept")))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(statements.first(slow, {}), 0.2)  # as a request cancelled mid-read
    assert statements._idle == []  # closed, not handed to the next read
    assert (await statements.first(FIRST_CALL, {})) is not None


async def test_libpq_parameters_of_the_url_are_read_or_left_to_psycopg(app) -> None:
    database = app.state.database
    url = database.read_engine.url.update_query_dict(
        {
            "connect_timeout": "5",
            "keepalives": "1",
            "application_name": "smps-test",
            "options": "-c statement_timeout=4321",
        }
    )
    engine = sa.create_engine(url)
    try:
        statements = LoopStatements(engine, size=1)
        settings = DirectSelect(
            sa.select(
                sa.func.current_setting("application_name").label("name"),
                sa.func.current_setting("statement_timeout").label("timeout"),
            )
        )
        row = await statements.first(settings, {})
        assert (row.name, row.timeout) == ("smps-test", "4321ms")
        statements.close()
    finally:
        engine.dispose()
