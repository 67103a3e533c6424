"""One engine for every workflow table: which steps a caller is offered, a step's guards run in the
table's order, and the compare-and-set that moves a row on.

A table (``app.applications.workflow``, ``app.batches.workflow``) is data: ``Step`` rows naming their
source states, target, actors and guards. Its package gives the engine, per guard, one check (a function
of the package's own *attempt*: who asks, on what, with which values); the engine knows no domain and
imports only ``app.core``.

Where a new rule goes: one guard member listed on the steps it concerns (the table), plus one check in
the package's map of checks. "A province recommends at most N per area" would be ``Guard.area_quota``
on the ``recommend`` row and a ``_refuse_over_area_quota`` check in ``app.applications.guards``; taking
the step runs it where the row lists it, and a guard that is also a *fact* (``by_facts``) keeps the
step out of ``allowed_actions`` while it does not hold (``tests/workflow/test_engine.py`` shows both).
"""

from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from app.core.concurrency import compare_and_set
from app.core.errors import InvalidTransition
from app.core.i18n import Text
from app.core.ids import new_id

S = TypeVar("S", bound=StrEnum)  # the table's states
A = TypeVar("A", bound=StrEnum)  # how a caller relates to the row
G = TypeVar("G", bound=StrEnum)  # the table's guards
C = TypeVar("C")  # what a package's checks read: its attempt at a step
H = TypeVar("H")  # a line of a table's history

NOT_POSSIBLE = Text("“{action}”不适用于当前状态 {state}", "'{action}' is not possible in state {state}")


@dataclass(frozen=True, slots=True)
class Step(Generic[S, A, G]):
    """One row of a table: from ``sources``, a caller acting as one of ``actors`` takes ``action`` to
    ``target`` (None: the row changes but keeps its state) once ``guards`` pass, in their order."""

    action: str
    sources: frozenset[S]
    target: S | None
    actors: frozenset[A]
    guards: tuple[G, ...]
    refusal: Text | None = None  # detail of the 409 when the state does not allow the step
    forbidden: Text | None = None  # detail of the 403 when the caller may not take it (None: the package's)
    offered: bool = True  # False: taken by the service on the caller's behalf, never listed in allowed_actions


def available(
    steps: Iterable[Step[S, A, G]],
    state: str,
    actors: Set[A],
    facts: Set[G] = frozenset(),
    by_facts: Set[G] = frozenset(),
) -> list[str]:
    """The actions open from ``state`` to a caller acting as any of ``actors``, in the table's order.
    ``by_facts`` guards are judged for the offer from ``facts``: a step listing one is offered only when it is among
    the ``facts`` that hold now."""
    return [
        s.action
        for s in steps
        if s.offered and state in s.sources and s.actors & actors and all(g in facts for g in s.guards if g in by_facts)
    ]


def refuse_unknown(action: str, state: str) -> InvalidTransition:
    """409 for an action the table does not have."""
    return InvalidTransition(NOT_POSSIBLE, action=action, state=state, extra={"state": state})


def refuse_state(step: Step[Any, Any, Any], state: str) -> None:
    """409 ``invalid_state_transition`` unless ``state`` is one the step starts from: the one state guard
    of every table."""
    if state in step.sources:
        return
    if step.refusal is not None:
        raise InvalidTransition(step.refusal, extra={"state": state})
    raise InvalidTransition(NOT_POSSIBLE, action=step.action, state=state, extra={"state": state})


def run_guards(step: Step[S, A, G], checks: Mapping[G, Callable[[C], None]], attempt: C) -> None:
    """Each guard of ``step`` in the table's order; the first that refuses raises its problem."""
    for guard in step.guards:
        checks[guard](attempt)


def history_line(
    model: Callable[..., H],
    prefix: str,
    step: Step[Any, Any, Any],
    source: str,
    target: str,
    *,
    actor_id: str,
    comment: str | None,
    at: datetime,
    **owner: str,
) -> H:
    """A line of a table's history (``Transition``, ``BatchTransition``): who moved what, from where to where."""
    return model(
        id=new_id(prefix),
        **owner,
        action=step.action,
        from_state=source,
        to_state=target,
        actor_id=actor_id,
        comment=comment,
        at=at,
    )


def apply_step(
    session: Session,
    row: SQLModel,
    step: Step[Any, Any, Any],
    *,
    source: str,
    version: int,
    now: datetime,
    leaving: Callable[[str], dict[str, Any]] | None = None,
    moved: Callable[[str, str], None] | None = None,
    **values: Any,
) -> None:
    """Apply a step whose guards passed: one compare-and-set on ``version`` (412 when another write came
    first) writing ``values``, and, when the state moves from ``source``, the new state. ``leaving(target)``
    adds values of the move (written in the same statement); ``moved(source, target)`` records it after
    (history, events). The only place a table's row changes state."""
    if step.target is None:
        compare_and_set(session, row, version, updated_at=now, **values)
        return
    target = str(step.target)
    if leaving is not None:
        values.update(leaving(target))
    compare_and_set(session, row, version, state=target, updated_at=now, **values)
    if moved is not None:
        moved(source, target)
