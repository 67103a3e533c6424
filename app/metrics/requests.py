"""Per-process series: request durations, requests in flight, the database pool.

``smps serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a directory before any worker starts
(app/metrics/multiprocess.py); prometheus-client then keeps these values in memory-mapped files there,
one per process, and a scrape answered by any worker adds up all of them. Without the variable (tests,
an embedded app) the values live in the process and the app's own registry reports them.
"""

import os

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.core.db import Database

# Seconds; the tail matters on deadline day (bulk uploads and printed forms take seconds).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class RequestMetrics:
    """The series one app writes (the request middleware's observer); ``registry`` reports them when there is no multiprocess directory."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.duration = Histogram(
            "smps_http_request_duration_seconds",
            "Time from the request's arrival to the end of its response, by route template and status.",
            ("method", "route", "status"),
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "smps_http_requests_in_flight",
            "Requests being answered now.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.pool_checked_out = Gauge(
            "smps_db_pool_checked_out",
            "Database connections lent to requests or jobs now, by engine (write, read).",
            ("engine",),
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.pool_overflow = Gauge(
            "smps_db_pool_overflow",
            "Connections open beyond SMPS_DB_POOL_SIZE now, by engine.",
            ("engine",),
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        # Label children looked up once per (method, route, status): .labels() takes a lock each time.
        self._children: dict[tuple[str, str, int], Histogram] = {}

    def started(self) -> None:
        self.in_flight.inc()

    def finished(self, method: str, route: str, status: int, seconds: float) -> None:
        self.in_flight.dec()
        key = (method, route, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.duration.labels(method, route, str(status))
        child.observe(seconds)

    def watch_pools(self, database: Database) -> None:
        """Keep the pool gauges current on every checkout and checkin (cheap: no query, no lock of ours)."""
        engines = {"write": database.write_engine}
        if database.read_engine is not database.write_engine:
            engines["read"] = database.read_engine
        for name, engine in engines.items():
            self._watch(name, engine)

    def _watch(self, name: str, engine: Engine) -> None:
        pool = engine.pool
        if not isinstance(pool, sa.pool.QueuePool):
            return
        checked_out = self.pool_checked_out.labels(name)
        overflow = self.pool_overflow.labels(name)

        def update(*_: object) -> None:
            checked_out.set(pool.checkedout())
            overflow.set(max(pool.overflow(), 0))

        event.listen(pool, "checkout", update)
        event.listen(pool, "checkin", update)
        update()
