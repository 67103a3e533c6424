"""``smps worker``: webhook delivery and housekeeping, in the foreground or beside ``smps serve``."""

import signal
import threading

import click

from app.core.settings import Settings


def run_worker(settings: Settings, stop: threading.Event) -> None:
    """Run worker passes until ``stop`` is set."""
    from app.core.db import make_database
    from app.events.worker import Worker

    database = make_database(settings)
    worker = Worker(database, settings)
    try:
        worker.run_forever(stop)
    finally:
        worker.close()
        database.dispose()


def start_worker_thread(settings: Settings) -> threading.Event:
    """Start the worker in a daemon thread (the embedded default of ``smps serve``); set the event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_worker, args=(settings, stop), name="smps-worker", daemon=True).start()
    return stop


@click.command(
    help="Deliver webhooks and prune old events, deliveries and idempotency keys. "
    "Run several on PostgreSQL if one is not enough; they share the work."
)
@click.option("--once", is_flag=True, help="Do one pass and exit (for a scheduler).")
def worker(once: bool) -> None:
    from app.core.logging import configure_logging
    from app.core.migrate import require_migrated
    from app.main import preflight

    settings = Settings()
    preflight(settings, "worker", before_writing=lambda: require_migrated(settings))
    configure_logging(settings.log_level)
    if once:
        from app.core.db import make_database
        from app.events.worker import Worker

        database = make_database(settings)
        pass_worker = Worker(database, settings)
        try:
            result = pass_worker.run_once()
        finally:
            pass_worker.close()
            database.dispose()
        click.echo(
            f"fanned out {result.fanned_out}, attempted {result.attempted}, succeeded {result.succeeded}", err=True
        )
        return
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    run_worker(settings, stop)
