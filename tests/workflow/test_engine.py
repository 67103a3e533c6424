"""The one workflow engine on a table of its own: the offer, the guard runner, the state refusal, and
where a new rule goes.

"A province recommends at most N per area" is one guard plus one check: ``Guard.area_quota`` listed on
the ``recommend`` row, and ``_refuse_over_area_quota`` in the package's map of checks. The same steps
would add it to ``app.applications.workflow`` (the guard on the row) and ``app.applications.guards``
(the check in ``CHECKS``); nothing else changes: the engine runs it where the row lists it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import pytest

from app.applications.guards import CHECKS
from app.applications.workflow import ALL_STEPS, BY_FACTS, Guard
from app.batches.transitions import CHECKS as BATCH_CHECKS
from app.batches.workflow import BATCH_STEPS
from app.core.errors import AppError, Forbidden, InvalidTransition
from app.core.i18n import Text
from app.workflow.engine import Step, available, refuse_state, run_guards


class S(StrEnum):
    review = "review"
    recommended = "recommended"


class A(StrEnum):
    reviewer = "reviewer"
    office = "office"


class G(StrEnum):
    state = "state"
    actor = "actor"
    area_quota = "area_quota"  # the new rule: one member …


class OverAreaQuota(AppError):
    status = 409
    code = "area_quota_reached"
    title = Text("该领域推荐名额已满", "The area's recommendations are full")


@dataclass(frozen=True)
class Attempt:
    state: str
    actors: frozenset[A]
    step: Step[S, A, G]
    recommended_in_area: int


AREA_QUOTA = 2
RECOMMEND: Step[S, A, G] = Step(
    "recommend", frozenset({S.review}), S.recommended, frozenset({A.reviewer}), (G.state, G.actor, G.area_quota)
)
REOPEN: Step[S, A, G] = Step(
    "reopen", frozenset({S.recommended}), S.review, frozenset({A.reviewer}), (G.state, G.actor)
)


def _refuse_actor(a: Attempt) -> None:
    if not (a.step.actors & a.actors):
        raise Forbidden()


def _refuse_over_area_quota(a: Attempt) -> None:  # … and one check
    if a.recommended_in_area >= AREA_QUOTA:
        raise OverAreaQuota(extra={"quota": AREA_QUOTA})


CHECKS_OF_TOY: dict[G, Callable[[Attempt], None]] = {
    G.state: lambda a: refuse_state(a.step, a.state),
    G.actor: _refuse_actor,
    G.area_quota: _refuse_over_area_quota,
}


def _take(step: Step[S, A, G], state: S, actors: set[A], recommended_in_area: int = 0) -> None:
    run_guards(step, CHECKS_OF_TOY, Attempt(state, frozenset(actors), step, recommended_in_area))


def test_a_new_rule_is_one_guard_and_one_check() -> None:
    _take(RECOMMEND, S.review, {A.reviewer}, recommended_in_area=1)
    with pytest.raises(OverAreaQuota):
        _take(RECOMMEND, S.review, {A.reviewer}, recommended_in_area=2)
    # The guards run in the row's order: the state and the caller are refused before the quota.
    with pytest.raises(InvalidTransition):
        _take(RECOMMEND, S.recommended, {A.reviewer}, recommended_in_area=2)
    with pytest.raises(Forbidden):
        _take(RECOMMEND, S.review, {A.office}, recommended_in_area=2)
    # Steps without the guard are untouched by it.
    _take(REOPEN, S.recommended, {A.reviewer}, recommended_in_area=99)


def test_a_rule_that_is_also_a_fact_keeps_the_step_out_of_the_offer() -> None:
    steps = (RECOMMEND, REOPEN)
    assert available(steps, S.review, {A.reviewer}) == ["recommend"]
    # Declared offer-only, the guard is a fact the caller's offer needs (the quota has room).
    assert available(steps, S.review, {A.reviewer}, facts=set(), by_facts={G.area_quota}) == []
    assert available(steps, S.review, {A.reviewer}, facts={G.area_quota}, by_facts={G.area_quota}) == ["recommend"]
    assert available(steps, S.review, {A.office}) == []


def test_the_state_refusal_is_one_for_every_table() -> None:
    with pytest.raises(InvalidTransition) as refused:
        refuse_state(REOPEN, S.review)
    assert refused.value.code == "invalid_state_transition" and refused.value.extra == {"state": "review"}
    own = Step("x", frozenset({S.review}), None, frozenset({A.office}), (G.state,), refusal=Text("不行", "No"))
    with pytest.raises(InvalidTransition) as refused:
        refuse_state(own, S.recommended)
    assert refused.value.detail is own.refusal


def test_hidden_steps_are_never_offered() -> None:
    hidden = Step("x", frozenset({S.review}), None, frozenset({A.office}), (G.state,), offered=False)
    assert available((hidden,), S.review, {A.office}) == []


def test_every_guard_of_both_tables_has_its_check() -> None:
    assert {g for s in ALL_STEPS for g in s.guards} <= set(CHECKS)
    assert {g for s in BATCH_STEPS for g in s.guards} <= set(BATCH_CHECKS)
    assert set(Guard) >= BY_FACTS
