"""The deadline rule, in one place: after the deadline (北京时间), late steps are refused.

Which deadline applies is the domain's to say (an application's call, or its recommender's earlier
internal deadline; a recommended list's call); how a passed one is refused and reported is said here,
for the guards of both tables and for the validation report alike.
"""

from datetime import datetime

from app.core.clock import BEIJING
from app.core.errors import DeadlinePassed
from app.core.i18n import Text

DEADLINE_PASSED = Text(
    "已超过截止时间（北京时间 {deadline}），逾期不予受理",
    "The deadline passed ({deadline} Beijing time); late submissions are not accepted",
)


def shown(deadline: datetime) -> str:
    """The deadline as people read it: Beijing time, to the second."""
    return deadline.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def is_past(now: datetime, deadline: datetime) -> bool:
    return now > deadline


def refuse_late(now: datetime, deadline: datetime) -> None:
    """409 ``deadline_passed`` once ``now`` is after ``deadline``."""
    if is_past(now, deadline):
        raise DeadlinePassed(
            DEADLINE_PASSED,
            deadline=shown(deadline),
            extra={"deadline": deadline.astimezone(BEIJING).isoformat()},
        )
