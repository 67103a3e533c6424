"""Storing a received upload: its costly checks limited per process, its row committed behind the write gate.

The body has been received in full (``app.attachments.upload``) before anything here runs. Decoding an
image holds its every pixel (a 7000×7000 PNG costs some 150 MB) and a PDF check reads its structure, so
at most ``max_concurrent_file_checks`` run at once in a process; the others wait on the event loop,
holding no thread and no lock. The write gate (``app.core.deps.write_slot``) is taken last, for the few
milliseconds the row's transaction needs.
"""

import asyncio
import weakref
from datetime import datetime

import anyio
import anyio.to_thread
from starlette.concurrency import run_in_threadpool

from app.accounts.principal import Principal
from app.attachments import service, sniff
from app.attachments.blobstore import BlobStore, new_key
from app.attachments.upload import ReceivedFile, ReceivedForm
from app.core.db import Database
from app.core.deps import write_slot

_CHECKS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter]" = weakref.WeakKeyDictionary()


def file_checks(size: int) -> anyio.CapacityLimiter:
    """The threads that may check files at once in this process (its one event loop), ``size`` of them."""
    limiter = _CHECKS.get(loop := asyncio.get_running_loop())
    if limiter is None:
        limiter = _CHECKS[loop] = anyio.CapacityLimiter(size)
    limiter.total_tokens = size
    return limiter


async def detect(received: ReceivedFile, allowed: frozenset[str], checks: int) -> sniff.Detected:
    """``service.detect`` in one of the ``checks`` threads of the process set aside for it."""
    return await anyio.to_thread.run_sync(service.detect, received, allowed, limiter=file_checks(checks))


async def store_upload(
    database: Database,
    store: BlobStore,
    principal: Principal,
    plan: service.UploadPlan,
    form: ReceivedForm,
    now: datetime,
) -> service.Stored:
    """Check the received file, move it into the store, commit its row, and say whether it is new.

    The same content uploaded again as the same kind (a retried upload whose answer was lost)
    returns the attachment already stored, with ``created`` false.
    """
    judged = await run_in_threadpool(service.judge_upload, database, principal, plan, form, now)
    if isinstance(judged, service.Stored):
        return judged
    kind, description, allowed = judged
    received = form.file
    assert received is not None
    detected = await detect(received, allowed, plan.settings.max_concurrent_file_checks)
    filename = received.filename
    if received.extension is None:
        filename = f"{filename}.{sorted(sniff.EXTENSIONS[detected.file_type])[0]}"

    key = new_key()
    await run_in_threadpool(store.put, received.temp_path, key)
    try:
        async with write_slot(database):
            result = await run_in_threadpool(
                service.commit_row, database, principal, plan, kind, description, filename, detected, received, key, now
            )
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(store.delete, key)
        raise
    if not result.created:
        await run_in_threadpool(store.delete, key)  # a concurrent identical upload won; its file serves
    return result
