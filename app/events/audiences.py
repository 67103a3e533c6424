"""Who may read each event, decided once, when it is written: the feed's entries (``EventEntry``).

The one rule of the change feed and of webhooks (docs/change-feed.md): **a subscriber receives every
event it may read, when it may first read it.** Readers are grouped into audiences, one per role of an
organization (docs/roles.md):

- ``unit:<org>``: the applicants of the undertaking unit, which see their applications from creation;
- ``party:<org>``: the signatories of an organization named on an application, once it is past draft;
- ``recommender:<org>``: the reviewers of its recommender, once past draft (from creation when the
  recommender entered it), and of its lists;
- ``office``: the office, while an application is submitted or decided and a list once submitted;
- ``public``: everyone, for calls and organizations. Admins read the whole log.

When events are written, the application (or list) they concern is looked at as the transaction
leaves it. Every audience that sees it then receives, in order, each of its events that the audience
has not received yet (``EventGrant`` keeps how far): the new events and, for an audience that sees it
for the first time (a province at submission, the office when the list is submitted) or again (a
resubmission after a recall), the earlier ones. An audience that stops seeing an application keeps what
it received and receives the events in between when it sees it again. ``application.deleted`` goes to
whoever could see the draft: its unit and the recommender that entered it.
"""

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.applications.models import Application, ApplicationParty
from app.applications.states import OFFICE_VISIBLE_STATES, State
from app.batches.models import OFFICE_VISIBLE_BATCH_STATES, Batch
from app.core.outbox import PUBLISHERS, allocate
from app.core.outbox_models import Event
from app.events.models import EventEntry, EventGrant

DELETED = "application.deleted"
PUBLIC = "public"
OFFICE = "office"
# Reference data: every signed-in caller reads calls and organizations.
PUBLIC_SUBJECTS = ("call", "organization")
_ENTRIES = EventEntry.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__ on the class


def audiences_of(principal: Principal) -> list[str]:
    """The audiences whose entries ``principal`` reads (an admin reads the whole log instead)."""
    org = principal.organization_id
    found = [PUBLIC]
    if principal.has(Role.applicant):
        found.append(f"unit:{org}")
    if principal.has(Role.signatory):
        found.append(f"party:{org}")
    if principal.is_recommender_reviewer:
        found.append(f"recommender:{org}")
    if principal.has(Role.office):
        found.append(OFFICE)
    return found


def _application_audiences(session: Session, ids: list[str]) -> dict[str, set[str]]:
    rows = session.execute(
        sa.select(
            col(Application.id),
            col(Application.state),
            col(Application.submitted_at),
            col(Application.undertaking_org_id),
            col(Application.recommender_id),
            col(Application.entered_by_org_id),
        ).where(col(Application.id).in_(ids))
    ).all()
    parties: dict[str, set[str]] = defaultdict(set)
    for application_id, org in session.execute(
        sa.select(col(ApplicationParty.application_id), col(ApplicationParty.organization_id)).where(
            col(ApplicationParty.application_id).in_(ids)
        )
    ):
        parties[application_id].add(org)
    found: dict[str, set[str]] = {}
    for row in rows:
        # The same rule as ``app.applications.access.visibility_filter``.
        past_draft = row.state != State.draft and (row.state != State.withdrawn or row.submitted_at is not None)
        audiences = {f"unit:{row.undertaking_org_id}"}
        if past_draft:
            audiences |= {f"party:{org}" for org in parties[row.id]}
        if row.recommender_id and (past_draft or row.entered_by_org_id == row.recommender_id):
            audiences.add(f"recommender:{row.recommender_id}")
        if row.state in OFFICE_VISIBLE_STATES:
            audiences.add(OFFICE)
        found[f"application:{row.id}"] = audiences
    return found


def _batch_audiences(session: Session, ids: list[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for batch_id, recommender_id, state in session.execute(
        sa.select(col(Batch.id), col(Batch.recommender_id), col(Batch.state)).where(col(Batch.id).in_(ids))
    ):
        audiences = {f"recommender:{recommender_id}"}
        if state in OFFICE_VISIBLE_BATCH_STATES:
            audiences.add(OFFICE)
        found[f"batch:{batch_id}"] = audiences
    return found


def _scope(event: dict[str, Any]) -> str | None:
    if event["application_id"] is not None:
        return f"application:{event['application_id']}"
    if event["subject_type"] == "batch":
        return f"batch:{event['subject_id']}"
    return None


def _scope_events(session: Session, scope: str, after: int) -> list[int]:
    kind, _, subject_id = scope.partition(":")
    where = (
        [col(Event.application_id) == subject_id, col(Event.type) != DELETED]
        if kind == "application"
        else [col(Event.subject_type) == "batch", col(Event.subject_id) == subject_id]
    )
    return list(
        session.execute(
            sa.select(col(Event.seq)).where(col(Event.seq) > after, *where).order_by(col(Event.seq))
        ).scalars()
    )


def write_entries(session: Session, events: list[dict[str, Any]]) -> None:
    """Give the events just written (and any earlier ones now revealed) to their audiences.

    Runs while the transaction holds the event counter's lock (``app.core.outbox``), so writers of
    entries are serialised and the grants read here are the latest.
    """
    entries: list[tuple[int, str]] = []
    scopes: set[str] = set()
    for event in events:
        if event["type"] == DELETED:
            entries.append((event["seq"], f"unit:{event['organization_id']}"))
            if event["recommender_id"]:
                entries.append((event["seq"], f"recommender:{event['recommender_id']}"))
            continue
        scope = _scope(event)
        if scope is not None:
            scopes.add(scope)
        elif event["subject_type"] in PUBLIC_SUBJECTS:
            entries.append((event["seq"], PUBLIC))
    if scopes:
        entries += _grant(session, sorted(scopes))
    if not entries:
        return
    entries.sort()  # within an audience, the log's order
    first = allocate(session, len(entries))
    session.execute(
        sa.insert(_ENTRIES),
        [dict(position=first + i, event_seq=seq, audience=audience) for i, (seq, audience) in enumerate(entries)],
    )


def _grant(session: Session, scopes: list[str]) -> list[tuple[int, str]]:
    """The entries owed to the audiences that see these scopes now; the grants move on."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for scope in scopes:
        kind, _, subject_id = scope.partition(":")
        by_kind[kind].append(subject_id)
    current = {
        **(_application_audiences(session, by_kind["application"]) if by_kind["application"] else {}),
        **(_batch_audiences(session, by_kind["batch"]) if by_kind["batch"] else {}),
    }
    granted = {
        (g.scope, g.audience): g
        for g in session.execute(sa.select(EventGrant).where(col(EventGrant.scope).in_(list(current)))).scalars()
    }
    entries: list[tuple[int, str]] = []
    for scope, audiences in sorted(current.items()):
        throughs = {a: granted[(scope, a)].through_seq if (scope, a) in granted else 0 for a in sorted(audiences)}
        owed = _scope_events(session, scope, min(throughs.values()))
        for audience, through in throughs.items():
            new = [seq for seq in owed if seq > through]
            if not new:
                continue
            entries += [(seq, audience) for seq in new]
            grant = granted.get((scope, audience))
            if grant is None:
                session.add(EventGrant(scope=scope, audience=audience, through_seq=new[-1]))
            else:
                grant.through_seq = new[-1]
    session.flush()
    return entries


PUBLISHERS.append(write_entries)
