"""SQLite: the read transactions of the event loop on one driver connection kept for them.

On SQLite the hottest read runs on the event loop itself (``app.readpath``). Taking a
pooled connection for it and handing it back — SQLAlchemy's ``Connection``, its transaction objects,
the pool's checkout and checkin with their events — costs more than the lookups it serves
(``python -m bench.read_path``). So the loop keeps one connection of the read engine, detached from the
pool once its PRAGMAs are set, and each read is ``BEGIN`` … ``ROLLBACK`` on it: a deferred transaction,
so in WAL mode it never waits for a writer and always sees the last commit. A connection that fails is
closed and the next read makes another. The pool's gauges do not count it.
"""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Engine

from app.core.fast.select import DriverTransaction


class LoopReader:
    """One driver connection per thread that reads through it (in practice the event loop's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[Any] = []

    def _connection(self) -> Any:
        driver = getattr(self._local, "driver", None)
        if driver is None:
            pooled = self.engine.raw_connection()  # made by the engine: the connect hook sets the PRAGMAs
            driver = pooled.driver_connection
            pooled.detach()
            self._local.driver = driver
            with self._lock:
                self._open.append(driver)
        return driver

    def _discard(self, driver: Any) -> None:
        self._local.driver = None
        with self._lock:
            if driver in self._open:
                self._open.remove(driver)
        driver.close()

    @contextmanager
    def transaction(self) -> Iterator[DriverTransaction]:
        """A read transaction: what the block reads is one snapshot; nothing it does is kept."""
        driver = self._connection()
        try:
            driver.execute("BEGIN")
            try:
                yield DriverTransaction(driver, self.engine.dialect)
            finally:
                driver.execute("ROLLBACK")
        except sqlite3.Error:
            self._discard(driver)
            raise

    def close(self) -> None:
        with self._lock:
            drivers, self._open = self._open, []
        for driver in drivers:
            driver.close()
