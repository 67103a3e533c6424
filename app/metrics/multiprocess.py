"""Multiprocess mode: the directory the workers share, and the files of workers that are gone."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

# prometheus-client is imported only inside the functions: it chooses where values live when it is
# first imported, and `smps serve` imports this module before it sets the directory. With one worker
# uvicorn serves in that same process, whose requests would otherwise be counted in memory, unscraped.
if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def shared_directory() -> Iterator[Path]:
    """For one `smps serve`: the operator's PROMETHEUS_MULTIPROC_DIR emptied of an earlier start's files,
    or a fresh temporary directory removed at exit. Set in the environment before any worker starts
    (prometheus-client chooses where values live when it is first imported)."""
    given = os.environ.get(ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        # Counters of an earlier start would otherwise be added to this one's.
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="smps-metrics-"))
    os.environ[ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_workers(directory: str) -> None:
    """Drop the live gauges (in flight, pool) of workers that died without a clean exit, e.g. a worker
    uvicorn restarted after a crash; their counters and histograms stay, they were real requests."""
    from prometheus_client import multiprocess

    pids: set[int] = set()
    for entry in Path(directory).glob("gauge_live*_*.db"):
        tail = entry.stem.rsplit("_", 1)[-1]
        if tail.isdigit():
            pids.add(int(tail))
    for pid in pids:
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def worker_exits() -> None:
    """A worker shutting down cleanly removes its live gauges itself."""
    from prometheus_client import multiprocess

    directory = os.environ.get(ENV)
    if directory:
        multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


def scrape_registry(directory: str) -> "CollectorRegistry":
    """A registry adding up every worker's files (built per scrape, as prometheus-client advises)."""
    from prometheus_client import CollectorRegistry, multiprocess

    forget_dead_workers(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry
