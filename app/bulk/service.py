"""Bulk uploads: store the parsed rows, then create the applications in the background.

Rows are checked by the same rules as ``POST /applications`` (the form's schema, the caller's rules
of ``create_application`` and the write-time findings of the validation engine), but in bulk: the
calls and organizations named by the rows are loaded once, and applications, their parties and
their ``application.created`` events are inserted in one go each (``app.bulk.inserts``: COPY on
PostgreSQL, the driver's executemany on SQLite).

Crash safety: ``all_or_nothing`` applies every row in one transaction together with the upload's
final state, so an upload is either finished or has changed nothing. ``valid_rows`` applies chunks,
each in one transaction with the upload's progress (compare-and-set on ``processed_rows``), so a
resumed upload continues after the last committed chunk and never applies a row twice. A runner
holds a lease on the upload; ``resume_unfinished`` and the worker (``app.events.worker``, every minute)
pick up uploads whose lease ran out and mark failed those that have been tried too often.
"""

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.accounts.principal import Principal, require_role
from app.applications.access import entry_errors
from app.applications.models import Application, ApplicationParty
from app.applications.schemas import ApplicationCreate
from app.applications.service import WRITE_TIME_CODES, org_facts
from app.applications.states import State
from app.applications.validation import OrgFacts, party_list, validate_application
from app.bulk.columns import column_of, item_prefix
from app.bulk.inserts import insert_many
from app.bulk.models import BulkUpload, BulkUploadPayload
from app.core.clock import Clock, system_clock
from app.core.db import Database, commit
from app.core.errors import FieldError, field_errors_from_pydantic
from app.core.fast.collector import collector_spared
from app.core.fast.sqlite import large_page_cache
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.settings import Settings
from app.events.models import Event, EventCounter
from app.events.outbox import discard_pending
from app.organizations.models import Organization
from app.reference.models import Call

log = logging.getLogger("smps.bulk")

MODES = ("all_or_nothing", "valid_rows")
UNFINISHED = ("queued", "running")
_APPLICATIONS = Application.__table__  # type: ignore[attr-defined]
_PARTIES = ApplicationParty.__table__  # type: ignore[attr-defined]
_UPLOADS = BulkUpload.__table__  # type: ignore[attr-defined]
_EVENTS = Event.__table__  # type: ignore[attr-defined]


def create_upload(
    session: Session,
    principal: Principal,
    *,
    mode: str,
    source: str,
    rows: list[Any],
    lines: list[int] | None,
    headers: dict[str, str] | None,
    now: datetime,
    stored: str | None = None,
) -> BulkUpload:
    """Persist the upload and its parsed rows (queued); processing happens after the commit.

    The rows are JSON values (as parsed from the body or the file), so what ``run_upload`` reads
    back equals the ``payload_of`` the request hands it in memory. ``stored``: the payload already
    as JSON text (a JSON body as received: an object with ``rows`` whose value parses to ``rows``),
    stored as is instead of serializing the rows again.
    """
    require_role(principal, Role.applicant, Role.reviewer)
    if not principal.has(Role.applicant) and not principal.is_recommender_reviewer:
        require_role(principal, Role.applicant)  # as POST /applications: only a recommender's reviewer enters for units
    upload = BulkUpload(
        id=new_id("blk"),
        uploaded_by=principal.user_id,
        organization_id=principal.organization_id,
        mode=mode,
        source=source,
        state="queued",
        total_rows=len(rows),
        results=[],
        created_at=now,
        updated_at=now,
    )
    session.add(upload)
    session.flush()
    if stored is None:
        session.execute(
            sa.insert(BulkUploadPayload.__table__),  # type: ignore[attr-defined]
            [{"upload_id": upload.id, "data": payload_of(rows, lines, headers)}],
        )
    else:
        # Untyped parameters: the text reaches the JSON column unchanged (PostgreSQL parses it as json).
        session.execute(
            sa.text("INSERT INTO bulk_upload_payloads (upload_id, data) VALUES (:upload_id, :data)"),
            {"upload_id": upload.id, "data": stored},
        )
    return upload


def payload_of(rows: list[Any], lines: list[int] | None, headers: dict[str, str] | None) -> dict[str, Any]:
    """The stored form of an upload's parsed rows (``bulk_upload_payloads.data``)."""
    return {"rows": rows, "lines": lines, "headers": headers}


def visible_upload_filter(principal: Principal) -> sa.ColumnElement[bool]:
    """The uploader, applicants of the uploader's organization, and admins see an upload."""
    if principal.is_admin:
        return sa.true()
    clauses: list[sa.ColumnElement[bool]] = [BulkUpload.uploaded_by == principal.user_id]  # type: ignore[list-item]
    if principal.has(Role.applicant):
        clauses.append(BulkUpload.organization_id == principal.organization_id)  # type: ignore[arg-type]
    return sa.or_(*clauses)


# --- checking and inserting rows in bulk ---------------------------------------------------------


@dataclass
class Prepared:
    """The outcome of checking some rows: per-row results and what to insert for the valid ones."""

    results: list[dict[str, Any]] = field(default_factory=list)
    applications: list[dict[str, Any]] = field(default_factory=list)
    parties: list[dict[str, Any]] = field(default_factory=list)

    @property
    def invalid(self) -> int:
        return sum(1 for r in self.results if r["status"] == "invalid")


def _own_org_error(pointer: str, zh: str, en: str) -> FieldError:
    return FieldError(pointer, "must_be_own_organization", Text(zh, en))


def _caller_rules(principal: Principal, content: dict[str, Any]) -> tuple[str | None, list[FieldError]]:
    """The caller's rules of ``create_application``: returns (entered_by, errors); fills the undertaking."""
    parties = content.setdefault("parties", {"participating": []})
    if principal.has(Role.applicant):
        if parties.get("undertaking", principal.organization_id) != principal.organization_id:
            return None, [
                _own_org_error(
                    "/parties/undertaking", "承担单位须为本单位", "The undertaking unit must be your organization"
                )
            ]
        parties["undertaking"] = principal.organization_id
        return None, []
    # A recommender's reviewer enters paper applications on the units' behalf.
    if not parties.get("undertaking"):
        return None, [
            FieldError(
                "/parties/undertaking",
                "required",
                Text("代录申请须指定承担单位", "Name the undertaking unit of the application you enter"),
            )
        ]
    content.setdefault("recommender_id", principal.organization_id)
    if content["recommender_id"] != principal.organization_id:
        return None, [
            _own_org_error(
                "/recommender_id", "代录申请的推荐单位须为本单位", "You can only enter applications you recommend"
            )
        ]
    return principal.organization_id, []


def _chunks(items: list[str], size: int = 900) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass(frozen=True, slots=True)
class CallRules:
    """What the validation engine reads of a call, loaded once per batch of rows."""

    id: str
    key: str
    catalogue: list[dict[str, Any]]
    sections: list[dict[str, Any]]
    conditions: list[dict[str, Any]]


def _load_calls(session: Session, refs: set[str]) -> dict[str, CallRules]:
    calls: dict[str, CallRules] = {}
    for part in _chunks(sorted(refs)):
        for row in session.execute(
            sa.select(Call.id, Call.key, Call.catalogue, Call.sections, Call.conditions).where(
                sa.or_(Call.id.in_(part), Call.key.in_(part))
            )  # type: ignore[attr-defined]
        ):
            call = CallRules(*row)
            calls[call.id] = calls[call.key] = call
    return calls


def _load_orgs(session: Session, ids: set[str]) -> dict[str, OrgFacts]:
    orgs: dict[str, OrgFacts] = {}
    for part in _chunks(sorted(ids)):
        orgs.update(org_facts(session, set(part)))
    return orgs


class RowContext:
    """How to address a row's errors: JSON pointers into the body, or columns of the file."""

    def __init__(self, source: str, lines: list[int] | None, headers: dict[str, str] | None) -> None:
        self.is_file = source != "json"
        self.lines, self.headers = lines, headers or {}

    def error(self, row: int, error: FieldError) -> dict[str, Any]:
        column = column_of(error.pointer)
        if self.is_file:
            pointer = f"/rows/{row}/{column}" if column else f"/rows/{row}{error.pointer}"
        else:
            pointer = f"/rows/{row}{error.pointer}"
        zh, en = error.render("zh-CN")["message"], error.render("en")["message"]
        if self.is_file:  # the file has no index for the item of a multi-value cell: the message names it
            zh, en = item_prefix(error.pointer, column, "zh-CN") + zh, item_prefix(error.pointer, column, "en") + en
        out = {"pointer": pointer, "column": column, "code": error.code, "message_zh": zh, "message_en": en}
        if self.is_file and column in self.headers:
            out["header"] = self.headers[column]
        return out

    def result(self, row: int, status: str, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"row": row, "status": status, **extra}
        if self.lines is not None:
            out["line"] = self.lines[row]
        return out


# ApplicationCreate.model_validate / model_dump without their per-call Python wrappers.
_validate_form = ApplicationCreate.__pydantic_validator__.validate_python
_dump_form = ApplicationCreate.__pydantic_serializer__.to_python


def prepare_rows(
    session: Session,
    principal: Principal,
    rows: list[tuple[int, Any]],
    context: RowContext,
    now: datetime,
) -> Prepared:
    """Check rows by the rules of ``POST /applications``, loading calls and organizations once."""
    Checked = tuple[int, str | None, dict[str, Any] | None, str | None, list[FieldError], list[tuple[str, str, str]]]
    checked: list[Checked] = []
    call_refs: set[str] = set()
    org_ids: set[str] = set()
    for index, raw in rows:
        try:
            body = _validate_form(raw)
        except ValidationError as exc:
            checked.append((index, None, None, None, field_errors_from_pydantic(list(exc.errors())), []))
            continue
        content = _dump_form(body, mode="json", exclude={"call_id"}, exclude_none=True)
        entered_by, errors = _caller_rules(principal, content)
        named = party_list(content["parties"]) if not errors else []
        checked.append((index, body.call_id, content, entered_by, errors, named))
        if not errors:
            call_refs.add(body.call_id)
            org_ids.update(org for _, org, _ in named)
            if content.get("recommender_id"):
                org_ids.add(content["recommender_id"])
    calls = _load_calls(session, call_refs)
    orgs = _load_orgs(session, org_ids)

    prepared = Prepared()
    results, applications, parties = prepared.results, prepared.applications, prepared.parties
    for index, call_ref, content, entered_by, errors, named in checked:
        call = None
        if content is not None and not errors:
            call = calls.get(call_ref)  # type: ignore[arg-type]
            if call is None:
                errors = [FieldError("/call_id", "unknown_call", Text("征集批次不存在", "No such call"))]
            else:
                errors = [e for e in validate_application(content, call, orgs, []).errors if e.code in WRITE_TIME_CODES]
                if entered_by and not errors:  # the entry rule of POST /applications
                    errors = entry_errors(principal, orgs[content["parties"]["undertaking"]].province_code)
        if errors or content is None or call is None:
            results.append(context.result(index, "invalid", errors=[context.error(index, e) for e in errors]))
            continue
        undertaking = orgs[content["parties"]["undertaking"]]
        app_id = new_id("app")
        applications.append(
            {
                "id": app_id,
                "call_id": call.id,
                "title": content["title"],
                "state": State.draft.value,
                "version": 1,
                "undertaking_org_id": undertaking.id,
                "recommender_id": content.get("recommender_id"),
                "province_code": undertaking.province_code,
                "domain_area": (content.get("domain") or {}).get("area"),
                "content": content,
                "content_digest": None,
                "entered_by_org_id": entered_by,
                "created_by": principal.user_id,
                "outcome_document_number": None,
                "created_at": now,
                "updated_at": now,
                "submitted_at": None,
            }
        )
        parties.extend(
            {"application_id": app_id, "role": role, "organization_id": org, "position": i}
            for i, (role, org, _) in enumerate(named)
        )
        results.append(context.result(index, "created", application_id=app_id))
    return prepared


def cap_errors(results: list[dict[str, Any]], listed: int, limit: int) -> tuple[int, int]:
    """Keep at most ``limit`` row errors listed across an upload's results (``listed`` so far): later
    errors are dropped from their rows (which stay ``invalid``) and counted. Returns (listed, omitted)."""
    omitted = 0
    for result in results:
        errors = result.get("errors")
        if not errors:
            continue
        room = max(limit - listed, 0)
        if len(errors) > room:
            omitted += len(errors) - room
            result["errors"] = errors[:room]
        listed += len(result["errors"])
    return listed, omitted


def _listed(results: list[dict[str, Any]]) -> int:
    return sum(len(r.get("errors") or ()) for r in results)


def apply_rows(session: Session, principal: Principal, prepared: Prepared, upload_id: str, now: datetime) -> None:
    """Insert the prepared applications, their parties and their ``application.created`` events."""
    if not prepared.applications:
        return
    insert_many(session, _APPLICATIONS, prepared.applications)
    insert_many(session, _PARTIES, prepared.parties)
    _insert_events(
        session,
        [
            {
                "id": new_id("evt"),
                "type": "application.created",
                "subject_type": "application",
                "subject_id": row["id"],
                "actor_id": principal.user_id,
                "occurred_at": now,
                "application_id": row["id"],
                "recommender_id": row["recommender_id"],
                "organization_id": row["undertaking_org_id"],
                "data": {"state": row["state"], "title": row["title"], "bulk_upload_id": upload_id},
            }
            for row in prepared.applications
        ],
    )


def _insert_events(session: Session, events: list[dict[str, Any]]) -> None:
    """Events of the rows, sequenced as ``app.events.outbox`` sequences them at commit: the counter row
    moves by their number and stays locked until the transaction ends, so sequence order is commit
    order. Call it last before the commit (only the upload's own progress is written after it)."""
    last = session.execute(
        sa.update(EventCounter)
        .where(EventCounter.id == 1)  # type: ignore[arg-type]
        .values(value=EventCounter.value + len(events))
        .returning(EventCounter.value)
    ).scalar_one()
    first = last - len(events) + 1
    for i, event in enumerate(events):
        event["seq"] = first + i
    insert_many(session, _EVENTS, events)


# --- running an upload -------------------------------------------------------------------------


def _principal_of(session: Session, user_id: str) -> Principal | None:
    row = session.execute(
        sa.select(User, Organization.province_code, Organization.recommender_kind)
        .join(Organization, Organization.id == User.organization_id)
        .where(User.id == user_id)
    ).first()
    if row is None or not row[0].is_active:
        return None
    user: User = row[0]
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        organization_id=user.organization_id,
        province_code=row[1],
        recommender_kind=row[2],
        roles=frozenset(user.roles),
    )


def _claim(database: Database, upload_id: str, owner: str, now: datetime, settings: Settings) -> bool:
    with database.writer() as session:
        claimed = (
            session.execute(
                sa.update(_UPLOADS)
                .where(
                    _UPLOADS.c.id == upload_id,
                    _UPLOADS.c.state.in_(UNFINISHED),
                    sa.or_(_UPLOADS.c.lease_until.is_(None), _UPLOADS.c.lease_until < now),
                )
                .values(
                    state="running",
                    lease_owner=owner,
                    attempts=_UPLOADS.c.attempts + 1,
                    updated_at=now,
                    lease_until=now + timedelta(seconds=settings.bulk_lease_seconds),
                )
            ).rowcount
            == 1
        )
        commit(session)
    return claimed


def _fail(database: Database, upload_id: str, now: datetime, reason: Text) -> None:
    with database.writer() as session:
        session.execute(
            sa.update(_UPLOADS)
            .where(_UPLOADS.c.id == upload_id, _UPLOADS.c.state.in_(UNFINISHED))
            .values(
                state="failed",
                failure={"zh": reason.zh, "en": reason.en},
                lease_owner=None,
                lease_until=None,
                updated_at=now,
                finished_at=now,
            )
        )
        commit(session)


class LeaseLost(Exception):
    """Another runner took the upload over: this one's work is rolled back."""


def _save_progress(
    session: Session, upload_id: str, owner: str, expected_processed: int, values: dict[str, Any]
) -> None:
    updated = session.execute(
        sa.update(_UPLOADS)
        .where(
            _UPLOADS.c.id == upload_id,
            _UPLOADS.c.lease_owner == owner,
            _UPLOADS.c.state == "running",
            _UPLOADS.c.processed_rows == expected_processed,
        )
        .values(**values)
    ).rowcount
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
                    sa.select(BulkUploadPayload.data).where(BulkUploadPayload.upload_id == upload_id)
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


def _run_all_or_nothing(
    database: Database, settings: Settings, upload: BulkUpload, data: dict[str, Any], owner: str, clock: Clock
) -> None:
    context = RowContext(upload.source, data.get("lines"), data.get("headers"))
    rows = list(enumerate(data["rows"]))
    with database.writer() as session:
        try:
            principal = _principal_of(session, upload.uploaded_by)
            if principal is None:
                raise _GiveUp(Text("上传者账号已停用", "The uploader's account is no longer active"))
            now = clock()
            with large_page_cache(session):
                prepared = prepare_rows(session, principal, rows, context, now)
                if prepared.invalid:
                    # Nothing is created: the valid rows are reported as skipped.
                    results = [
                        r
                        if r["status"] == "invalid"
                        else {k: v for k, v in r.items() if k != "application_id"} | {"status": "skipped"}
                        for r in prepared.results
                    ]
                    created = 0
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
                        "error_count": prepared.invalid,
                        "results": results,
                        "omitted_error_count": omitted,
                        "lease_owner": None,
                        "lease_until": None,
                        "updated_at": now,
                        "finished_at": now,
                    },
                )
            commit(session)
        except BaseException:
            discard_pending(session)
            session.rollback()
            raise


def _run_valid_rows(
    database: Database, settings: Settings, upload: BulkUpload, data: dict[str, Any], owner: str, clock: Clock
) -> None:
    context = RowContext(upload.source, data.get("lines"), data.get("headers"))
    rows: list[Any] = data["rows"]
    results = list(upload.results)
    processed, created, errors = upload.processed_rows, upload.created_count, upload.error_count
    listed, omitted = _listed(results), upload.omitted_error_count
    size = settings.bulk_chunk_rows
    while True:
        with database.writer() as session:
            try:
                principal = _principal_of(session, upload.uploaded_by)
                if principal is None:
                    raise _GiveUp(Text("上传者账号已停用", "The uploader's account is no longer active"))
                now = clock()
                chunk = list(enumerate(rows[processed : processed + size], start=processed))
                with large_page_cache(session):
                    prepared = prepare_rows(session, principal, chunk, context, now)
                    apply_rows(session, principal, prepared, upload.id, now)
                done = processed + len(chunk) >= len(rows)
                chunk_listed, chunk_omitted = cap_errors(prepared.results, listed, settings.max_bulk_listed_errors)
                values: dict[str, Any] = {
                    "omitted_error_count": omitted + chunk_omitted,
                    "processed_rows": processed + len(chunk),
                    "created_count": created + len(prepared.applications),
                    "error_count": errors + prepared.invalid,
                    "results": results + prepared.results,
                    "updated_at": now,
                    "lease_until": now + timedelta(seconds=settings.bulk_lease_seconds),
                }
                if done:
                    values |= {"state": "finished", "lease_owner": None, "lease_until": None, "finished_at": now}
                _save_progress(session, upload.id, owner, processed, values)
                commit(session)
            except BaseException:
                discard_pending(session)
                session.rollback()
                raise
        processed, created, errors = values["processed_rows"], values["created_count"], values["error_count"]
        results, listed, omitted = values["results"], chunk_listed, values["omitted_error_count"]
        if done:
            return


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
