"""Rows that name an application already there: duplicates, and the drafts an ``upsert`` updates.

A row matches an application by (call, undertaking unit, title) — the title as the form keeps it
(trimmed) — among the applications the caller can see (``GET /applications`` would list them), except
withdrawn ones: a withdrawn application is over, and applying anew makes a new one. Rows of one upload
match each other the same way.

An ``upsert`` row replaces the form of the application it matches by the row (the row is the whole
application, as the bureau holds it), under the rules of ``PATCH /applications/{id}``: the caller may
edit it (its unit's applicant, or the recommender that entered it), it is a draft or returned, its
recommender does not change once it has reviewed it. Anything else is the row's error, with the state.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.applications.access import visibility_filter
from app.applications.models import Application, Review
from app.applications.states import EDITABLE_STATES, State
from app.core.errors import FieldError
from app.core.i18n import Text
from app.core.outbox import new_event

Key = tuple[str, str, str]  # (call id, undertaking organization id, title)

_APPLICATIONS = Application.__table__  # type: ignore[attr-defined]  # SQLModel types no __table__ on the class


@dataclass(frozen=True, slots=True)
class Existing:
    """What matching and updating read of an application already in the store."""

    id: str
    call_id: str
    undertaking_org_id: str
    title: str
    state: str
    version: int
    recommender_id: str | None
    entered_by_org_id: str | None
    content: dict[str, Any] | None  # loaded only when the upload may update

    @property
    def key(self) -> Key:
        return (self.call_id, self.undertaking_org_id, self.title)


def key_of(row: dict[str, Any]) -> Key:
    """The matching key of an application row about to be inserted (``prepare_application``'s row)."""
    return (row["call_id"], row["undertaking_org_id"], row["title"])


def find_existing(
    session: Session, principal: Principal, keys: set[Key], *, for_update: bool
) -> dict[Key, list[Existing]]:
    """The visible, not withdrawn applications with these keys, newest first (one query per 300 keys).

    ``for_update``: with their forms, and locked on PostgreSQL until the transaction ends (so the
    version read is the version updated)."""
    found: dict[Key, list[tuple[datetime, Existing]]] = {}
    columns = [
        col(Application.id),
        col(Application.call_id),
        col(Application.undertaking_org_id),
        col(Application.title),
        col(Application.state),
        col(Application.version),
        col(Application.recommender_id),
        col(Application.entered_by_org_id),
        col(Application.content) if for_update else sa.null(),
        col(Application.created_at),
    ]
    ordered = sorted(keys)
    for i in range(0, len(ordered), 300):
        part = ordered[i : i + 300]
        query = sa.select(*columns).where(
            col(Application.undertaking_org_id).in_({k[1] for k in part}),
            col(Application.call_id).in_({k[0] for k in part}),
            col(Application.title).in_({k[2] for k in part}),
            col(Application.state) != State.withdrawn,
            visibility_filter(principal),
        )  # no ORDER BY: SQLite would then walk the unit's applications by creation, not this index
        if for_update and session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(of=_APPLICATIONS)
        for *row, created_at in session.execute(query):
            existing = Existing(*row)
            if existing.key in keys:
                found.setdefault(existing.key, []).append((created_at, existing))
    return {
        key: [e for _, e in sorted(m, key=lambda pair: (pair[0], pair[1].id), reverse=True)] for key, m in found.items()
    }


def reviewed(session: Session, application_ids: set[str]) -> set[str]:
    """Which of these applications their recommender has reviewed."""
    out: set[str] = set()
    ordered = sorted(application_ids)
    for i in range(0, len(ordered), 900):
        out.update(
            session.execute(
                sa.select(col(Review.application_id))
                .where(col(Review.application_id).in_(ordered[i : i + 900]))
                .distinct()
            ).scalars()
        )
    return out


def ambiguous(count: int) -> FieldError:
    return FieldError(
        "/title",
        "ambiguous_match",
        Text(
            "有 {count} 份申请的征集批次、承担单位和项目名称与本行相同，无法确定更新哪一份；请在系统中逐份修改",
            "{count} applications have this row's call, undertaking unit and title; edit the one you mean directly",
        ),
        (("count", count),),
    )


def update_errors(
    principal: Principal, target: Existing, content: dict[str, Any], was_reviewed: bool
) -> list[FieldError]:
    """Why the caller may not replace ``target``'s form by ``content`` (``PATCH /applications/{id}``'s rules)."""
    org = principal.organization_id
    may_edit = (principal.has(Role.applicant) and target.undertaking_org_id == org) or (
        principal.has(Role.reviewer) and target.entered_by_org_id == org
    )
    if not may_edit:
        return [
            FieldError(
                "/title",
                "application_not_editable_by_you",
                Text(
                    "同名申请 {id} 不是您可修改的申请（由承担单位申报人或代录的推荐单位修改）",
                    "The matching application {id} is not yours to edit (its unit's applicants, or the "
                    "recommender that entered it, edit it)",
                ),
                (("id", target.id),),
            )
        ]
    if target.state not in EDITABLE_STATES:
        return [
            FieldError(
                "/title",
                "application_not_editable",
                Text(
                    "同名申请 {id} 的状态为 {state}，仅草稿（draft）或退回（returned）的申请可更新",
                    "The matching application {id} is {state}: only draft and returned applications can be updated",
                ),
                (("id", target.id), ("state", target.state)),
            )
        ]
    if target.entered_by_org_id and content.get("recommender_id") != target.entered_by_org_id:
        return [
            FieldError(
                "/recommender_id",
                "must_be_own_organization",
                Text("代录申请的推荐单位须为本单位", "You can only enter applications you recommend"),
            )
        ]
    if was_reviewed and content.get("recommender_id") != target.recommender_id:
        return [
            FieldError(
                "/recommender_id",
                "recommender_fixed_after_review",
                Text(
                    "推荐单位审核后不可更换；如需改由其他单位推荐，请撤回本申请并重新申报",
                    "The recommender cannot change once it has reviewed the application; withdraw it and apply anew",
                ),
            )
        ]
    return []


@dataclass(frozen=True, slots=True)
class Update:
    """Replacing one application's form: the compare-and-set's values, its parties, its event."""

    values: dict[str, Any]
    parties: list[dict[str, Any]]
    event: dict[str, Any]


def update_of(
    principal: Principal, target: Existing, new_row: dict[str, Any], new_parties: list[dict[str, Any]], now: datetime
) -> Update:
    """The update that makes ``target`` hold the form of ``new_row`` (an insert's row, from ``prepare_application``)."""
    old, content = target.content or {}, new_row["content"]
    changed = sorted(k for k in old.keys() | content.keys() if old.get(k) != content.get(k))
    return Update(
        values={
            "b_id": target.id,
            "b_version": target.version,
            "content": content,
            "title": new_row["title"],
            "recommender_id": new_row["recommender_id"],
            "domain_area": new_row["domain_area"],
            "updated_at": now,
        },
        parties=[p | {"application_id": target.id} for p in new_parties],
        event=new_event(
            "application.updated",
            target.id,
            now=now,
            actor_id=principal.user_id,
            application_id=target.id,
            recommender_id=new_row["recommender_id"],
            organization_id=target.undertaking_org_id,
            data={"fields": changed},
        ),
    )


_UPDATE = (
    sa.update(_APPLICATIONS)
    .where(
        _APPLICATIONS.c.id == sa.bindparam("b_id"),
        _APPLICATIONS.c.version == sa.bindparam("b_version"),
        _APPLICATIONS.c.state.in_([s.value for s in EDITABLE_STATES]),
    )
    .values(version=sa.bindparam("b_version") + 1)
)


class MatchChanged(Exception):
    """An application matched by a row changed between its read and its update (not expected: it is locked)."""


def apply_updates(session: Session, updates: list[Update]) -> None:
    """The compare-and-set of each update; the caller replaces their parties and writes their events."""
    connection = session.connection()
    for update in updates:
        if connection.execute(_UPDATE, update.values).rowcount != 1:
            raise MatchChanged(update.values["b_id"])
