"""Keeping CPython's cyclic garbage collector out of the way of large parses and bulk imports.

A bulk upload creates millions of small objects; every few hundred new containers the collector runs
and its full collections walk all live objects again, so the import slows down with its own size.
``python -m bench.bulk_import`` shows the difference (run it with these turned into no-ops).
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

_spared_runs = 0
_spared_lock = threading.Lock()


def loads_without_collector(body: bytes) -> Any:
    """``orjson.loads`` without the cyclic collector running again and again while a large document is
    built: the parser makes only acyclic containers and holds the GIL until it returns, so the pause
    is confined to this call (unless the collector was off already)."""
    if not gc.isenabled():
        return orjson.loads(body)
    gc.disable()
    try:
        return orjson.loads(body)
    finally:
        gc.enable()


@contextmanager
def collector_spared() -> Iterator[None]:
    """While it runs, full collections of the cyclic GC skip the objects that existed before (the
    service's own and the parsed rows): otherwise each one the rows' new objects trigger walks them
    all again. ``gc.freeze`` sets them aside until the last concurrent run ends (``gc.unfreeze``); a
    freeze made by someone else (e.g. a pre-forking server) is left alone."""
    global _spared_runs
    with _spared_lock:
        ours = _spared_runs > 0 or gc.get_freeze_count() == 0
        if ours:
            if _spared_runs == 0:
                gc.freeze()
            _spared_runs += 1
    try:
        yield
    finally:
        if ours:
            with _spared_lock:
                _spared_runs -= 1
                if _spared_runs == 0:
                    gc.unfreeze()
