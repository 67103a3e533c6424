"""Running bulk uploads: leases, the chunks of an upload and its progress, resuming.

Crash safety: ``all_or_nothing`` applies every row in one transaction together with the upload's
final state, so an upload is either finished or has changed nothing. ``valid_rows`` and ``upsert``
apply chunks, each in one transaction with the upload's progress (compare-and-set on
``processed_rows``), so a resumed upload continues after the last committed chunk and never applies
a row twice. A runner
holds a lease on the upload; ``resume_unfinished`` and the worker (``app.worker``, every minute)
pick up uploads whose lease ran out and mark failed those that have been tried too often.
"""

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.principal import load_principal
from app.bulk.models import BulkUpload, BulkUploadPayload
from app.bulk.service import RowContext, apply_rows, cap_errors, listed_errors, prepare_rows
from app.core.clock import Clock, system_clock
from app.core.db import Database
from app.core.fast.collector import collector_spared
from app.core.fast.sqlite import large_page_cache
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.settings import Settings

log = logging.getLogger("smps.bulk")

UNFINISHED = ("queued", "running")
_UPLOADS = BulkUpload.__table__  # type: ignore[attr-defined]  # SQLModel types no __table__ on the class


def _update_upload(session: Session, upload_id: str, *where: Any, **values: Any) -> int:
    """Set ``values`` on the upload if ``where`` holds; how many rows changed (1, or 0 when it did not hold)."""
    statement = sa.update(_UPLOADS).where(_UPLOADS.c.id == upload_id, *where).values(**values)
    rowcount: int = session.connection().execute(statement).rowcount
    return rowcount


def _claim(database: Database, upload_id: str, owner: str, now: datetime, settings: Settings) -> bool:
    with database.transaction() as session:
        claimed = _update_upload(
            session,
            upload_id,
            _UPLOADS.c.state.in_(UNFINISHED),
            sa.or_(_UPLOADS.c.lease_until.is_(None), _UPLOADS.c.lease_until < now),
            state="running",
            lease_owner=owner,
            attempts=_UPLOADS.c.attempts + 1,
            updated_at=now,
            lease_until=now + timedelta(seconds=settings.bulk_lease_seconds),
        )
    return claimed == 1


def _fail(database: Database, upload_id: str, now: datetime, reason: Text) -> None:
    with database.transaction() as session:
        _update_upload(
            session,
            upload_id,
            _UPLOADS.c.state.in_(UNFINISHED),
            state="failed",
            failure={"zh": reason.zh, "en": reason.en},
            lease_owner=None,
            lease_until=None,
            updated_at=now,
            finished_at=now,
        )


class LeaseLost(Exception):
    """Another runner took the upload over: this one's work is rolled back."""


def _save_progress(
    session: Session, upload_id: str, owner: str, expected_processed: int, values: dict[str, Any]
) -> None:
    updated = _update_upload(
        session,
        upload_id,
        _UPLOADS.c.lease_owner == owner,
        _UPLOADS.c.state == "running",
        _UPLOADS.c.processed_rows == expected_processed,
        **values,
    )
    if updated != 1:
        raise LeaseLost(upload_id)


def run_upload(
    database: Database,
    settings: Settings,
    upload_id: str,
    clock: Clock = system_clock,
    payload: dict[str, Any] | None = None,
) -> None:
    """Process one upload if no other runner holds it; never raises (failures are recorded).

    ``payload``: the parsed rows as just committed with the upload (the request hands them over so
    they are not read back and parsed again); without it they are read from the store.
    """
    with collector_spared():
        _run_upload(database, settings, upload_id, clock, payload)


def _run_upload(
    database: Database, settings: Settings, upload_id: str, clock: Clock, payload: dict[str, Any] | None
) -> None:
    owner = new_id("run")
    now = clock()
    mode = "all_or_nothing"
    if not _claim(database, upload_id, owner, now, settings):
        return
    try:
        with database.reader() as session:
            upload = session.get(BulkUpload, upload_id)
            assert upload is not None
            mode = upload.mode
            if upload.attempts > settings.bulk_max_attempts:
                raise _GiveUp(
                    Text(
                        "多次处理未能完成，请重新上传",
                        "Processing did not complete after several attempts; upload again",
                    )
                )
            data = (
                payload
                if payload is not None
                else session.execute(
                    sa.select(col(BulkUploadPayload.data)).where(col(BulkUploadPayload.upload_id) == upload_id)
                ).scalar_one()
            )
        if upload.mode == "all_or_nothing":
            _run_all_or_nothing(database, settings, upload, data, owner, clock)
        else:
            _run_valid_rows(database, settings, upload, data, owner, clock)
    except LeaseLost:
        log.warning("bulk upload taken over by another runner", extra={"upload_id": upload_id})
    except _GiveUp as exc:
        _fail(database, upload_id, clock(), exc.reason)
    except Exception:
        log.exception("bulk upload failed", extra={"upload_id": upload_id})
        _fail(
            database,
            upload_id,
            clock(),
            Text("处理时发生内部错误，未创建任何申请", "An internal error stopped the processing; nothing was created")
            if mode == "all_or_nothing"
            else Text(
                "处理时发生内部错误；已创建的申请见逐行结果",
                "An internal error stopped the processing; rows created so far are listed",
            ),
        )


class _GiveUp(Exception):
    def __init__(self, reason: Text) -> None:
        self.reason = reason
        super().__init__(reason.en)


# SQLite: the page cache of a connection while it applies rows (KiB, as PRAGMA cache_size takes a
# negative size). A bulk transaction writes tens of megabytes; with the default 2 MB the cache spills
# to the WAL again and again before the commit.
SQLITE_BULK_CACHE_KIB = 64 * 1024


def _run_all_or_nothing(
    database: Database, settings: Settings, upload: BulkUpload, data: dict[str, Any], owner: str, clock: Clock
) -> None:
    context = RowContext(upload.source, data.get("lines"), data.get("headers"))
    rows = list(enumerate(data["rows"]))
    with database.transaction() as session:
        principal = load_principal(session, upload.uploaded_by)
        if principal is None:
            raise _GiveUp(Text("上传者账号已停用", "The uploader's account is no longer active"))
        now = clock()
        with large_page_cache(session):
            prepared = prepare_rows(session, principal, rows, context, now)
            if prepared.invalid:
                # Nothing is created: the valid rows are reported as skipped, and the duplicates of
                # rows not created keep only their duplicate_of_row.
                results, created = _voided(prepared.results), 0
            else:
                apply_rows(session, principal, prepared, upload.id, now)
                results, created = prepared.results, len(prepared.applications)
            _, omitted = cap_errors(results, 0, settings.max_bulk_listed_errors)
            _save_progress(
                session,
                upload.id,
                owner,
                upload.processed_rows,
                {
                    "state": "finished",
                    "processed_rows": len(rows),
                    "created_count": created,
                    "duplicate_count": prepared.count("duplicate"),
                    "error_count": prepared.invalid,
                    "results": results,
                    "omitted_error_count": omitted,
                    "lease_owner": None,
                    "lease_until": None,
                    "updated_at": now,
                    "finished_at": now,
                },
            )


def _run_valid_rows(
    database: Database, settings: Settings, upload: BulkUpload, data: dict[str, Any], owner: str, clock: Clock
) -> None:
    context = RowContext(upload.source, data.get("lines"), data.get("headers"))
    rows: list[Any] = data["rows"]
    results = list(upload.results)
    processed, errors = upload.processed_rows, upload.error_count
    counts = {
        "created_count": upload.created_count,
        "updated_count": upload.updated_count,
        "duplicate_count": upload.duplicate_count,
    }
    listed, omitted = listed_errors(results), upload.omitted_error_count
    earlier = _applications_of(results)  # a resumed upload's committed chunks
    size = settings.bulk_chunk_rows
    while True:
        with database.transaction() as session:
            principal = load_principal(session, upload.uploaded_by)
            if principal is None:
                raise _GiveUp(Text("上传者账号已停用", "The uploader's account is no longer active"))
            now = clock()
            chunk = list(enumerate(rows[processed : processed + size], start=processed))
            with large_page_cache(session):
                prepared = prepare_rows(
                    session, principal, chunk, context, now, upsert=upload.mode == "upsert", earlier=earlier
                )
                apply_rows(session, principal, prepared, upload.id, now)
            done = processed + len(chunk) >= len(rows)
            chunk_listed, chunk_omitted = cap_errors(prepared.results, listed, settings.max_bulk_listed_errors)
            values: dict[str, Any] = {
                "omitted_error_count": omitted + chunk_omitted,
                "processed_rows": processed + len(chunk),
                **{name: counts[name] + prepared.count(name.removesuffix("_count")) for name in counts},
                "error_count": errors + prepared.invalid,
                "results": results + prepared.results,
                "updated_at": now,
                "lease_until": now + timedelta(seconds=settings.bulk_lease_seconds),
            }
            if done:
                values |= {"state": "finished", "lease_owner": None, "lease_until": None, "finished_at": now}
            _save_progress(session, upload.id, owner, processed, values)
        processed, errors = values["processed_rows"], values["error_count"]
        counts = {name: values[name] for name in counts}
        results, listed, omitted = values["results"], chunk_listed, values["omitted_error_count"]
        earlier |= _applications_of(prepared.results, earlier)
        if done:
            return


def _voided(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An all_or_nothing upload's results when nothing is created: created rows become skipped, and a
    duplicate of one of them names its row only (the application it would have been does not exist)."""
    voided = {r["application_id"] for r in results if r["status"] == "created"}
    out = []
    for r in results:
        if r["status"] == "created":
            r = {k: v for k, v in r.items() if k != "application_id"} | {"status": "skipped"}
        elif r.get("application_id") in voided:
            r = {k: v for k, v in r.items() if k != "application_id"}
        out.append(r)
    return out


def _applications_of(results: list[dict[str, Any]], known: dict[str, int] | None = None) -> dict[str, int]:
    """Application id → the first row that created, updated or duplicated it (``prepare_rows``' ``earlier``)."""
    out: dict[str, int] = {}
    for r in results:
        application_id = r.get("application_id")
        if application_id and r["status"] != "invalid" and application_id not in (known or {}):
            out.setdefault(application_id, r["row"])
    return out


def start_processing(
    database: Database,
    settings: Settings,
    upload_id: str,
    clock: Clock = system_clock,
    payload: dict[str, Any] | None = None,
) -> threading.Thread:
    """Process the upload in a background thread (the request has already committed it and its ``payload``)."""
    thread = threading.Thread(
        target=run_upload, args=(database, settings, upload_id, clock, payload), name=f"bulk-{upload_id}", daemon=True
    )
    thread.start()
    return thread


# A queued upload no runner has claimed: the request that stored it starts its runner at once, so it
# is taken over only when it has waited this long (its process may have died in between).
QUEUED_GRACE = timedelta(seconds=30)


def unfinished_uploads(database: Database, now: datetime) -> list[str]:
    """Queued or running uploads whose runner is gone (its lease ran out), oldest first."""
    c = _UPLOADS.c
    with database.reader() as session:
        return list(
            session.execute(
                sa.select(c.id)
                .where(
                    c.state.in_(UNFINISHED),
                    sa.or_(
                        c.lease_until < now,
                        sa.and_(
                            c.lease_until.is_(None), sa.or_(c.state != "queued", c.updated_at < now - QUEUED_GRACE)
                        ),
                    ),
                )
                .order_by(c.created_at)
            ).scalars()
        )


def resume_unfinished(database: Database, settings: Settings, clock: Clock = system_clock) -> list[str]:
    """Resume every queued or running upload whose runner is gone (its lease ran out); returns their ids.

    Uploads tried more than ``bulk_max_attempts`` times are marked failed instead. An interrupted
    ``all_or_nothing`` upload had changed nothing, so it simply runs again. Safe from any number of
    processes at once: a runner first claims the upload's lease, and only one claim succeeds.
    """
    ids = unfinished_uploads(database, clock())
    for upload_id in ids:
        run_upload(database, settings, upload_id, clock)
    return ids
