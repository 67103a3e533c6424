"""The bodies ``GET /applications/{id}`` keeps per version are what a fresh representation gives, for
every caller, at every step, before and after the deadline; and the hoisted route changes no answer."""

from dataclasses import replace
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlmodel import col

from app.accounts.principal import Principal
from app.core.clock import BEIJING
from app.organizations.models import Organization
from app.readpath.kept import Representations
from tests.applications.cast import Actor, Flow, make_cast


async def _warm_and_cold(app, flow: Flow, actor: Actor, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict]:
    """The body a caller gets twice in a row (the second from what the first kept), and with nothing kept."""
    first = await flow.get(actor)
    assert first.status_code == 200, first.text
    warm = await flow.get(actor)
    assert warm.content == first.content and warm.headers["etag"] == first.headers["etag"]
    with monkeypatch.context() as patch:
        patch.setattr(app.state.read_path, "bodies", Representations(max_bytes=1 << 20))
        cold = await flow.get(actor)
    assert cold.headers["etag"] == warm.headers["etag"]
    return warm.json(), cold.json()


async def test_kept_bodies_follow_every_step_and_caller(app, client, clock, monkeypatch) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    callers = {"applicant": cast.applicant, "reviewer": cast.reviewer, "signatory": cast.guarantor_signatory}
    seen: dict[str, list[dict]] = {name: [] for name in callers}

    async def look() -> None:
        for name, actor in callers.items():
            r = await flow.get(actor)
            if r.status_code == 404:  # a draft is its unit's alone
                continue
            warm, cold = await _warm_and_cold(app, flow, actor, monkeypatch)
            assert warm == cold, name
            seen[name].append(warm)

    await look()  # draft
    assert (await flow.act("submit")).status_code == 200
    await look()  # awaiting sign-off: each party its own actions
    r = await flow.endorse(cast.guarantor_signatory, "guarantor", cast.guarantor)
    assert r.status_code == 201, r.text
    await look()  # one sign-off recorded: the guarantor's no longer pending
    guarantor = next(s for s in seen["applicant"][-1]["sign_offs"] if s["role"] == "guarantor")
    assert guarantor["status"] == "agreed"
    assert "endorse" not in seen["signatory"][-1]["allowed_actions"]
    assert "endorse" in seen["signatory"][-2]["allowed_actions"]
    for signatory, role, org in (
        (cast.undertaking_signatory, "undertaking", cast.undertaking),
        (cast.participating_signatory, "participating", cast.participating),
        (cast.guidance_signatory, "guidance", cast.guidance),
    ):
        assert (await flow.endorse(signatory, role, org)).status_code == 201
    await look()  # every party agreed: the reviewer's turn
    in_review = seen["reviewer"][-1]
    assert in_review["state"] == "provincial_review" and "recommend" in in_review["allowed_actions"]

    # The recommender's own deadline (内部截止时间) passes, though not the call's: no more recommending.
    with app.state.database.transaction() as session:
        session.execute(
            sa.update(Organization)
            .where(col(Organization.id) == cast.recommender)
            .values(internal_deadline=datetime(2022, 10, 31, 17, 0, tzinfo=BEIJING))
        )
    await look()
    assert seen["reviewer"][-1]["version"] == in_review["version"]
    assert "recommend" not in seen["reviewer"][-1]["allowed_actions"]
    with app.state.database.transaction() as session:
        session.execute(
            sa.update(Organization).where(col(Organization.id) == cast.recommender).values(internal_deadline=None)
        )
    await look()
    assert seen["reviewer"][-1] == in_review

    # The call's deadline passes: the same version, the same kept entry, but no deadline step is offered.
    clock.set(datetime(2022, 11, 16, 9, 0, tzinfo=BEIJING))
    await look()
    closed = seen["reviewer"][-1]
    assert closed["version"] == in_review["version"]
    assert "recommend" not in closed["allowed_actions"]
    assert {k: v for k, v in closed.items() if k != "allowed_actions"} == {
        k: v for k, v in in_review.items() if k != "allowed_actions"
    }


def test_representations_stay_within_their_size() -> None:
    kept = Representations(max_bytes=250)
    when = datetime(2022, 11, 1, tzinfo=BEIJING)
    for n in range(5):
        kept.keep((f"app_{n}", 1, when), [], ("submit",), b"x" * 100)
    assert kept.body(("app_4", 1, when), ("submit",)) == b"x" * 100
    assert kept.body(("app_3", 1, when), ("submit",)) == b"x" * 100
    assert kept.body(("app_2", 1, when), ("submit",)) is None  # the oldest went first
    assert kept.sign_offs(("app_0", 1, when)) is None
    kept.keep(("big", 1, when), [], (), b"x" * 251)  # larger than the whole store: not kept
    assert kept.body(("big", 1, when), ()) is None
    assert kept.body(("app_4", 1, when), ("submit",)) == b"x" * 100


async def test_the_hoisted_copy_changes_no_answer(app, client) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    url = f"/api/v1/applications/{flow.id}"
    paths = app.openapi()["paths"]["/api/v1/applications/{application_id}"]
    assert {"get", "patch"} <= set(paths)
    operations = [op["operationId"] for p in app.openapi()["paths"].values() for op in p.values()]
    assert operations.count("get_application") == 1
    # Other methods of the path still reach their own routes.
    patched = await client.patch(
        url, json={"title": "新的项目名称"}, headers={**cast.applicant.headers, "If-Match": flow.etag}
    )
    assert patched.status_code == 200 and patched.json()["title"] == "新的项目名称"
    refused = await client.put(url, json={}, headers=cast.applicant.headers)
    assert refused.status_code == 405
    assert set(refused.headers["allow"].split(", ")) == {m.upper() for m in paths} | {"HEAD"}
    assert (await client.get(url, headers=cast.applicant.headers)).json()["title"] == "新的项目名称"


def test_a_versions_callers_keep_their_actions_within_bounds() -> None:
    kept = Representations(max_bytes=1 << 20)
    version = ("app_1", 3, datetime(2022, 11, 1, tzinfo=BEIJING))
    principal = Principal("usr_1", "u", "U", "org_1", "110000", "province", frozenset({"reviewer"}))
    kept.keep_actions(version, (principal, False), ("recommend",))
    assert kept.actions(version, (principal, False)) is None  # only for a version whose body is kept
    kept.keep(version, [], ("recommend",), b"{}")
    kept.keep_actions(version, (principal, False), ("recommend",))
    assert kept.actions(version, (principal, False)) == ("recommend",)
    assert kept.actions(version, (principal, True)) is None  # after the deadline: another caller
    assert kept.actions(version, (replace(principal, roles=frozenset({"applicant"})), False)) is None
    for n in range(64):  # a version read by many callers starts its list afresh
        kept.keep_actions(version, (replace(principal, user_id=f"usr_{n + 2}"), False), ())
    assert kept.actions(version, (principal, False)) is None
    assert kept.actions(version, (replace(principal, user_id="usr_65"), False)) == ()
