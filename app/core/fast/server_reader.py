"""PostgreSQL: the hottest reads on a few driver connections kept for them, one statement at a time.

``GET /applications/{id}`` mostly needs one statement (``app.applications.reading``). Through the
engine it would cost four round trips and the pool's machinery around them: the pre-ping, ``BEGIN``,
the statement, and the rollback of the pool's reset; so these connections are kept out of the pool,
in autocommit (a statement alone is its own snapshot), and a read that needs several statements asks
for a snapshot: ``REPEATABLE READ, READ ONLY`` on the same connection, so they all see one moment
(``python -m bench.read_path --postgres``).

The connections are made by the engine (its connect hooks and the driver's adapters apply), then
detached from its pool; the pool's gauges do not count them. At most one per read thread
(``db.READ_THREADS``) is open at once. A connection the server dropped is found at its next use:
that read is tried once more on a new connection, so a restart of the server or an idle timeout
costs no request.
"""

import asyncio
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any, TypeVar

import psycopg
from sqlalchemy.engine import Engine

from app.core.fast.select import DirectSelect, DriverTransaction

T = TypeVar("T")


class ServerReader:
    """Driver connections to PostgreSQL for reads, handed to one thread at a time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._idle: SimpleQueue[Any] = SimpleQueue()
        self._closed = False

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
    """Async driver connections to PostgreSQL on the event loop, for reads of one statement.

    The read of a kept answer is one statement; awaiting it on the loop costs less than a worker
    thread's hop there and back, and no thread waits for the interpreter lock to take the rows. At
    most ``size`` statements run at once; others wait their turn. The connections belong to the loop
    that made them: on another loop (a test client's), they are closed and new ones made.
    """

    def __init__(self, engine: Engine, size: int) -> None:
        self.engine = engine
        self.size = size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turns = asyncio.Semaphore(size)
        self._idle: list[psycopg.AsyncConnection[Any]] = []

    async def _new(self) -> psycopg.AsyncConnection[Any]:
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)  # with the engine's adapters
        return await psycopg.AsyncConnection.connect(*cargs, **cparams, autocommit=True)

    def _on_this_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self.close()
            self._loop, self._turns = loop, asyncio.Semaphore(self.size)

    async def first(self, select: DirectSelect, params: dict[str, Any]) -> Any | None:
        """The first row of ``select`` (``DirectSelect.first``), the statement its own snapshot."""
        self._on_this_loop()
        async with self._turns:
            kept = bool(self._idle)
            driver = self._idle.pop() if kept else await self._new()
            try:
                row = await select.first_async(driver, self.engine.dialect, params)
            except psycopg.OperationalError:
                if not (kept and driver.broken):
                    self._release(driver)
                    raise
                driver = await self._new()
                try:
                    row = await select.first_async(driver, self.engine.dialect, params)
                except BaseException:
                    self._release(driver)
                    raise
            except BaseException:
                self._release(driver)
                raise
            self._release(driver)
            return row

    def _release(self, driver: psycopg.AsyncConnection[Any]) -> None:
        if driver.closed or driver.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            driver.pgconn.finish()
        else:
            self._idle.append(driver)

    def close(self) -> None:
        """Close the idle connections (from any loop: closing one does not wait)."""
        idle, self._idle = self._idle, []
        for driver in idle:
            driver.pgconn.finish()
