"""PostgreSQL: the hottest reads on connections kept for them, out of the engine's pool.

``GET /applications/{id}`` mostly needs one statement (``app.readpath``). Through the
engine it would cost four round trips and the pool's machinery around them: the pre-ping, ``BEGIN``,
the statement, and the rollback of the pool's reset (``python -m bench.read_path --postgres``). So:

- ``LoopStatements``: a statement alone (its own snapshot), awaited on the event loop on a few asyncpg
  connections;
- ``ServerReader``: a read of several statements, in a read thread, on one ``REPEATABLE READ, READ
  ONLY`` snapshot of a psycopg connection made by the engine (its connect hooks and adapters apply)
  and then detached from its pool. At most one per read thread (``threads``) is open at once.

The pool's gauges count neither. A connection the server dropped is found at its next use: that read
is tried once more on a new connection, so a restart of the server or an idle timeout costs no request.
"""

import asyncio
import functools
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any, TypeVar, cast

import anyio
import asyncpg
import orjson
import psycopg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import Dialect, Engine

from app.core.fast.select import DirectSelect, DriverTransaction

T = TypeVar("T")

# Parameters of libpq's connection string that are no server settings and that asyncpg does not read:
# left to psycopg's connections (``connect_timeout`` is asyncpg's ``timeout``).
_LIBPQ_ONLY = (
    "connect_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "client_encoding",
    "gssencmode",
    "channel_binding",
    "requirepeer",
    "hostaddr",
    "load_balance_hosts",
    "sslcompression",
    "sslsni",
    "require_auth",
)


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


# What a connection lost to the server raises: closed under it, or the server shutting it down.
_LOST = (
    asyncpg.InterfaceError,
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)


class ServerReader:
    """Driver connections to PostgreSQL for reads, handed to one thread at a time."""

    def __init__(self, engine: Engine, threads: int) -> None:
        self.engine = engine
        self.threads = threads
        self._idle: SimpleQueue[Any] = SimpleQueue()
        self._closed = False
        self._limiter: anyio.CapacityLimiter | None = None

    async def run_in_thread(self, read: Callable[[DriverTransaction], T], *, snapshot: bool = False) -> T:
        """``run`` in a worker thread, at most ``threads`` at once (a few do this work faster than many:
        more would only take turns on the interpreter lock), the event loop serving others meanwhile."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.threads)
        return await anyio.to_thread.run_sync(
            functools.partial(self.run, read, snapshot=snapshot), limiter=self._limiter
        )

    def _new(self) -> Any:
        pooled = self.engine.raw_connection()  # made by the engine: its hooks and adapters
        driver = pooled.driver_connection
        assert driver is not None, "a live pooled connection has its driver's"
        pooled.detach()
        driver.rollback()  # whatever the pool's checkout began
        driver.autocommit = True
        return driver

    def run(self, read: Callable[[DriverTransaction], T], *, snapshot: bool = False) -> T:
        """``read(db)`` on a kept connection: each statement its own snapshot, or with ``snapshot`` one
        read-only transaction for them all. Tried once more on a new connection if the kept one was lost."""
        try:
            driver, kept = self._idle.get_nowait(), True
        except Empty:
            driver, kept = self._new(), False
        try:
            result = self._read(driver, read, snapshot)
        except psycopg.OperationalError:
            if not (kept and driver.broken):  # a failure of this read, not of a connection left idle
                self._release(driver)
                raise
            driver.close()
            driver = self._new()
            try:
                result = self._read(driver, read, snapshot)
            except BaseException:
                self._release(driver)
                raise
        except BaseException:
            self._release(driver)
            raise
        self._release(driver)
        return result

    def _read(self, driver: Any, read: Callable[[DriverTransaction], T], snapshot: bool) -> T:
        if not snapshot:
            return read(DriverTransaction(driver, self.engine.dialect))
        driver.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        try:
            return read(DriverTransaction(driver, self.engine.dialect))
        finally:
            driver.execute("ROLLBACK")

    def _release(self, driver: Any) -> None:
        if self._closed or driver.closed or driver.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            driver.close()
        else:
            self._idle.put(driver)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except Empty:
                return


class LoopStatements:
    """asyncpg connections to PostgreSQL on the event loop, for reads of one statement.

    The read of a kept answer is one statement, as is the stamp of a stored form. Awaited on the loop
    it costs less than a worker thread's hop there and back, and asyncpg takes half the CPU of
    psycopg's async connection for it (``python -m bench.read_path --postgres``): its protocol is
    compiled, and it keeps each connection's prepared statements. At most ``size`` statements run at once; others wait their turn. The
    connections belong to the loop that made them: on another loop (a test client's) they are closed
    and new ones made. A connection interrupted mid-statement (a cancelled request) is closed, never
    reused.
    """

    def __init__(self, engine: Engine, size: int) -> None:
        self.engine = engine
        self.size = size
        # The statements' parameter style and result types for asyncpg (the dialect's constructor is untyped).
        self.dialect: Dialect = cast(Callable[[], Dialect], asyncpg_dialect)()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turns = asyncio.Semaphore(size)
        self._idle: list[asyncpg.Connection] = []

    async def _new(self) -> asyncpg.Connection:
        # The engine's URL: asyncpg reads host, port, user, password, database, the ssl settings and
        # target_session_attrs as libpq does, and sends any other parameter as a server setting.
        url = self.engine.url.set(drivername="postgresql")
        timeout = url.query.get("connect_timeout")
        url = url.difference_update_query(_LIBPQ_ONLY)
        driver = await asyncpg.connect(
            url.render_as_string(hide_password=False), timeout=float(timeout) if isinstance(timeout, str) else 60
        )
        # JSON columns decoded as the engine decodes them (SQLAlchemy leaves it to asyncpg's codecs).
        await driver.set_type_codec("json", encoder=_json_text, decoder=orjson.loads, schema="pg_catalog")
        return driver

    def _on_this_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self.close()
            self._loop, self._turns = loop, asyncio.Semaphore(self.size)

    async def first(self, select: DirectSelect, params: dict[str, Any]) -> Any | None:
        """The first row of ``select`` (as ``DirectSelect.first``), the statement its own snapshot."""
        self._on_this_loop()
        async with self._turns:
            kept = bool(self._idle)
            try:
                return await self._first_on(self._idle.pop() if kept else await self._new(), select, params)
            except _LOST:
                if not kept:
                    raise
            return await self._first_on(await self._new(), select, params)  # lost while idle: on a new one

    async def _first_on(self, driver: asyncpg.Connection, select: DirectSelect, params: dict[str, Any]) -> Any | None:
        try:
            row = await select.first_async(driver, self.dialect, params)
        except BaseException as error:
            if isinstance(error, asyncpg.PostgresError) and not isinstance(error, _LOST):
                self._idle.append(driver)  # the statement failed; the connection is fine
            else:
                driver.terminate()
            raise
        self._idle.append(driver)
        return row

    def close(self) -> None:
        """Close the idle connections (from any thread or loop: terminating one does not wait)."""
        idle, self._idle = self._idle, []
        if self._loop is None or self._loop.is_closed():
            return  # their loop is gone, and its transports with it: the sockets close as they are collected
        for driver in idle:
            driver.terminate()
