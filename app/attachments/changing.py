"""Who may add or remove an application's files, and when: the ``attach`` steps of the application
workflow's table, taken through its guards like every other step.

Files are added and removed while the content is editable (``attach``); a party's stamped sign-off page
(``paper_endorsement``) also while the other parties are signing (``attach_sign_off_page``, a step the
table never offers), and such a page is removed then only when no current sign-off rests on it.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.principal import Principal
from app.applications.guards import check_guards
from app.applications.models import Application, Endorsement
from app.applications.states import State
from app.applications.workflow import Step, step_of
from app.attachments.models import Attachment
from app.core.errors import InvalidTransition
from app.core.i18n import Text
from app.workflow.engine import refuse_state

# A party's stamped sign-off page arrives while the other parties are signing.
PAPER_ENDORSEMENT_KIND = "paper_endorsement"


def attach_action(kind: str | None) -> str:
    """The step that adds or removes a file of ``kind`` (None: not known yet, a streamed form whose kind
    comes after its file)."""
    return "attach_sign_off_page" if kind in (None, PAPER_ENDORSEMENT_KIND) else "attach"


def _attach_step(kind: str | None) -> Step:
    step = step_of(attach_action(kind))
    assert step is not None
    return step


def refuse_state_for(state: str, kind: str | None) -> None:
    """The state guard alone, on the state read when an upload began (409 ``invalid_state_transition``)."""
    refuse_state(_attach_step(kind), state)


def require_may_attach(
    session: Session, principal: Principal, application: Application, kind: str | None, now: datetime
) -> None:
    """The guards of adding a file of ``kind`` (403, then 409)."""
    check_guards(session, principal, application, attach_action(kind), now=now)


def require_removable(
    session: Session, principal: Principal, application: Application, row: Attachment, now: datetime
) -> None:
    """The guards of removing ``row`` (403, then 409); during sign-off, a sign-off page no current
    sign-off rests on (one uploaded by mistake, or left over from a sign-off voided earlier).

    Called under the application's lock: a paper sign-off naming the page either committed before
    (and is seen here) or fails its compare-and-set on the version this removal moves on.
    """
    require_may_attach(session, principal, application, row.kind, now)
    if application.state != State.endorsing:
        return
    endorsement_id = session.execute(
        sa.select(col(Endorsement.id))
        .where(
            col(Endorsement.application_id) == application.id,
            col(Endorsement.attachment_id) == row.id,
            col(Endorsement.voided_at).is_(None),
        )
        .limit(1)
    ).scalar_one_or_none()
    if endorsement_id is not None:
        raise InvalidTransition(
            Text(
                "该盖章页是一项现行会签意见的依据，不能删除",
                "A current sign-off rests on this page; it cannot be removed",
            ),
            extra={"state": application.state, "reason": "page_of_current_sign_off", "endorsement_id": endorsement_id},
        )
