"""Bulk uploads: store the parsed rows, then create the applications in the background.

Each row is created as ``POST /applications`` creates one: the form's schema, then
``prepare_application`` (its rules, defaults, row, parties and ``application.created`` event). Only
the batching is the upload's own: the calls and organizations named by the rows (by id or credit
code, ``app.bulk.references``) are loaded once, the applications the rows match once
(``app.bulk.matching``: duplicates, and the drafts an ``upsert`` updates), and applications, their
parties and their events (numbered by the outbox's sequencer) are inserted in one go each
(``app.bulk.inserts``: COPY on PostgreSQL, the driver's executemany on SQLite).

Running an upload (leases, chunks, progress, resuming) is ``app.bulk.runner``.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.models import Role
from app.accounts.principal import Principal, require_role
from app.applications.models import Application, ApplicationParty
from app.applications.schemas import ApplicationCreate
from app.applications.service import NewApplication, prepare_application
from app.applications.states import EDITABLE_STATES
from app.bulk.columns import column_of, item_prefix
from app.bulk.inserts import insert_many
from app.bulk.matching import (
    Key,
    Update,
    ambiguous,
    apply_updates,
    find_existing,
    key_of,
    reviewed,
    update_errors,
    update_of,
)
from app.bulk.models import BulkUpload, BulkUploadPayload
from app.bulk.references import load_named_orgs, named_refs
from app.core.errors import FieldError, NotFound, ValidationFailed, field_errors_from_pydantic
from app.core.ids import new_id
from app.core.outbox import publish, sequence
from app.core.outbox_models import Event
from app.reference.models import Call

_APPLICATIONS = Application.__table__  # type: ignore[attr-defined]  # SQLModel types no __table__ on the class
_PARTIES = ApplicationParty.__table__  # type: ignore[attr-defined]  # SQLModel types no __table__ on the class
_EVENTS = Event.__table__  # type: ignore[attr-defined]  # SQLModel types no __table__ on the class


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
            sa.insert(BulkUploadPayload.__table__),  # type: ignore[attr-defined]  # SQLModel types no __table__
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
    clauses: list[sa.ColumnElement[bool]] = [col(BulkUpload.uploaded_by) == principal.user_id]
    if principal.has(Role.applicant):
        clauses.append(col(BulkUpload.organization_id) == principal.organization_id)
    return sa.or_(*clauses)


def load_visible_upload(session: Session, principal: Principal, upload_id: str) -> BulkUpload:
    """The upload if the caller may see it (``visible_upload_filter``), else 404."""
    upload = session.execute(
        sa.select(BulkUpload).where(col(BulkUpload.id) == upload_id, visible_upload_filter(principal))
    ).scalar_one_or_none()
    if upload is None:
        raise NotFound()
    return upload


# --- checking and inserting rows in bulk ---------------------------------------------------------


@dataclass
class Prepared:
    """The outcome of checking some rows: per-row results and what to write for them."""

    results: list[dict[str, Any]] = field(default_factory=list)
    applications: list[dict[str, Any]] = field(default_factory=list)
    parties: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r["status"] == status)

    @property
    def invalid(self) -> int:
        return self.count("invalid")


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
            sa.select(col(Call.id), col(Call.key), col(Call.catalogue), col(Call.sections), col(Call.conditions)).where(
                sa.or_(col(Call.id).in_(part), col(Call.key).in_(part))
            )
        ):
            call = CallRules(*row)
            calls[call.id] = calls[call.key] = call
    return calls


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
    *,
    upsert: bool = False,
    earlier: dict[str, int] | None = None,
) -> Prepared:
    """Check rows by the rules of ``POST /applications`` (``prepare_application``), loading the calls
    and organizations they name once, then match them with the applications already there
    (``app.bulk.matching``): a match is a ``duplicate``, or with ``upsert`` an update of the draft.

    ``earlier``: application id → row, of the applications earlier rows of the same upload created,
    updated or duplicated (committed in an earlier chunk), so a later row is reported as their duplicate.
    """
    forms: list[tuple[int, str, dict[str, Any]] | tuple[int, list[FieldError]]] = []
    call_refs: set[str] = set()
    # Every organization a row may name, its own and the caller's (the rules' default): a superset is enough.
    org_refs: set[str] = {principal.organization_id}
    for index, raw in rows:
        try:
            body = _validate_form(raw)
        except ValidationError as exc:
            forms.append((index, field_errors_from_pydantic(cast(list[dict[str, Any]], exc.errors()))))
            continue
        content = _dump_form(body, mode="json", exclude={"call_id"}, exclude_none=True)
        forms.append((index, body.call_id, content))
        call_refs.add(body.call_id)
        org_refs.update(named_refs(content))
    calls = _load_calls(session, call_refs)
    named = load_named_orgs(session, org_refs)

    by_row: dict[int, dict[str, Any]] = {}
    valid: list[tuple[int, NewApplication]] = []
    for form in forms:
        index = form[0]
        if len(form) == 2:
            errors = form[1]
        else:
            errors = named.resolve(form[2])
            try:
                new = prepare_application(
                    principal, form[1], form[2], now, find_call=calls.get, find_orgs=lambda _ids: named.facts
                )
            except ValidationFailed as exc:
                # A credit code no organization has is reported as such, not again as an unknown id.
                errors = errors + [e for e in exc.errors if e.pointer not in {c.pointer for c in errors}]
            else:
                if not errors:
                    valid.append((index, new))
                    continue
        by_row[index] = context.result(index, "invalid", errors=[context.error(index, e) for e in errors])
    prepared = Prepared()
    _match(session, principal, valid, by_row, prepared, context, now, upsert=upsert, earlier=earlier or {})
    prepared.results = [by_row[index] for index, _ in rows]
    return prepared


def _match(
    session: Session,
    principal: Principal,
    valid: list[tuple[int, NewApplication]],
    by_row: dict[int, dict[str, Any]],
    prepared: Prepared,
    context: RowContext,
    now: datetime,
    *,
    upsert: bool,
    earlier: dict[str, int],
) -> None:
    """Decide each valid row: created, duplicate, updated (``upsert``) or invalid (an update refused)."""
    existing = find_existing(session, principal, {key_of(new.row) for _, new in valid}, for_update=upsert)
    was_reviewed = reviewed(session, {m[0].id for m in existing.values() if len(m) == 1}) if upsert else set()
    seen: dict[Key, tuple[int, str | None]] = {}  # key → (first row of the upload with it, its application)
    for index, new in valid:
        key = key_of(new.row)
        if key in seen:
            first, application_id = seen[key]
            by_row[index] = context.result(index, "duplicate", **_id(application_id), duplicate_of_row=first)
            continue
        matches = existing.get(key)
        if not matches:
            seen[key] = (index, new.row["id"])
            prepared.applications.append(new.row)
            prepared.parties.extend(new.parties)
            prepared.events.append(new.event)
            by_row[index] = context.result(index, "created", application_id=new.row["id"])
            continue
        target = next((m for m in matches if m.state in EDITABLE_STATES), matches[0])
        seen[key] = (index, target.id)
        if target.id in earlier:
            by_row[index] = context.result(
                index, "duplicate", application_id=target.id, duplicate_of_row=earlier[target.id]
            )
            continue
        if not upsert:
            by_row[index] = context.result(index, "duplicate", application_id=target.id)
            continue
        errors = (
            [ambiguous(len(matches))]
            if len(matches) > 1
            else update_errors(principal, target, new.row["content"], target.id in was_reviewed)
        )
        if errors:
            by_row[index] = context.result(
                index,
                "invalid",
                **_id(target.id if len(matches) == 1 else None),
                errors=[context.error(index, e) for e in errors],
            )
        elif target.content == new.row["content"]:
            by_row[index] = context.result(index, "duplicate", application_id=target.id)  # nothing to change
        else:
            update = update_of(principal, target, new.row, new.parties, now)
            prepared.updates.append(update)
            prepared.parties.extend(update.parties)
            prepared.events.append(update.event)
            by_row[index] = context.result(index, "updated", application_id=target.id)


def _id(application_id: str | None) -> dict[str, Any]:
    return {"application_id": application_id} if application_id else {}


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


def listed_errors(results: list[dict[str, Any]]) -> int:
    return sum(len(r.get("errors") or ()) for r in results)


def apply_rows(session: Session, principal: Principal, prepared: Prepared, upload_id: str, now: datetime) -> None:
    """Write the prepared rows: insert the new applications, update the matched drafts (``upsert``),
    write their parties, and their ``application.created``/``application.updated`` events."""
    if not prepared.events:
        return
    if prepared.applications:
        insert_many(session, _APPLICATIONS, prepared.applications)
    if prepared.updates:
        apply_updates(session, prepared.updates)
        updated = [u.values["b_id"] for u in prepared.updates]
        for part in _chunks(updated):
            session.execute(sa.delete(_PARTIES).where(_PARTIES.c.application_id.in_(part)))
    if prepared.parties:
        insert_many(session, _PARTIES, prepared.parties)
    for event in prepared.events:
        event["data"]["bulk_upload_id"] = upload_id
    # Numbered by the outbox's sequencer, last before the commit (only the upload's own progress is
    # written after): the counter row stays locked until then, so sequence order is commit order.
    events = sequence(session, prepared.events)
    insert_many(session, _EVENTS, events)
    publish(session, events)
