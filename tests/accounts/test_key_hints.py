"""A key kept by the read path changes no answer: every change to the caller counts from the next
request, as if the key were resolved afresh; its use is still recorded."""

import hashlib
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import col

from app.accounts.models import ApiKey, User
from app.core.security import secret_hash
from app.organizations.models import Organization
from app.readpath.hints import KeyHints
from tests.applications.cast import Actor, Flow, make_cast


async def _hinted_and_fresh(app, client, url: str, actor: Actor, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """The answer with whatever the process kept, then the one with nothing kept: (status, body) each."""
    hinted = await client.get(url, headers=actor.headers)
    with monkeypatch.context() as patch:
        patch.setattr(app.state.read_path, "key_hints", KeyHints(size=100))
        fresh = await client.get(url, headers=actor.headers)
    return _answer(hinted), _answer(fresh)


def _answer(response) -> tuple:
    if response.headers["content-type"] == "application/pdf":  # a stored form: named by its ETag
        return response.status_code, response.headers["etag"], hashlib.sha256(response.content).hexdigest()
    body = response.json()
    if response.status_code >= 400:  # a problem names its own request
        body = {k: v for k, v in body.items() if k not in ("request_id", "instance")}
    return response.status_code, body


def _update(app, statement: sa.Executable) -> None:
    with app.state.database.transaction() as session:
        session.execute(statement)


@pytest.mark.parametrize("path", ["", "/form.pdf"], ids=["json", "form_pdf"])
async def test_every_change_to_the_caller_counts_at_once(app, client, monkeypatch, path: str) -> None:
    # The form of a frozen application, once stored, is read with the key kept as the JSON is.
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.to_review()  # visible to the applicant's unit and to the recommender's reviewers
    url = f"/api/v1/applications/{flow.id}{path}"
    reviewer = cast.reviewer
    first = await client.get(url, headers=reviewer.headers)
    assert first.status_code == 200
    if not path:
        assert "recommend" in first.json()["allowed_actions"]
    digest = secret_hash(reviewer.api_key)
    assert app.state.read_path.key_hints.get(digest) is not None  # kept by that read

    changes = [
        # roles, written straight into the store (no version moves): the reviewer becomes an applicant
        (sa.update(User).where(col(User.id) == reviewer.user_id).values(roles=["applicant"]), 404),
        (sa.update(User).where(col(User.id) == reviewer.user_id).values(roles=["reviewer"]), 200),
        # the user moved to another organization: no longer this recommender's reviewer
        (
            sa.update(User)
            .where(col(User.id) == reviewer.user_id)
            .values(organization_id=cast.stranger.organization_id),
            404,
        ),
        (sa.update(User).where(col(User.id) == reviewer.user_id).values(organization_id=cast.recommender), 200),
        # the organization's kind changed under the user: no longer a recommender
        (
            sa.update(Organization).where(col(Organization.id) == cast.recommender).values(recommender_kind=None),
            404,
        ),
        (
            sa.update(Organization).where(col(Organization.id) == cast.recommender).values(recommender_kind="province"),
            200,
        ),
        (sa.update(User).where(col(User.id) == reviewer.user_id).values(is_active=False), 401),
        (sa.update(User).where(col(User.id) == reviewer.user_id).values(is_active=True), 200),
        (sa.update(ApiKey).where(col(ApiKey.user_id) == reviewer.user_id).values(revoked_at=datetime.now(UTC)), 401),
    ]
    for statement, expected in changes:
        _update(app, statement)
        hinted, fresh = await _hinted_and_fresh(app, client, url, reviewer, monkeypatch)
        assert hinted == fresh, statement
        assert hinted[0] == expected, (statement, hinted)


async def test_a_kept_key_still_records_its_use(app, client, clock) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    url = f"/api/v1/applications/{flow.id}"
    assert (await client.get(url, headers=cast.applicant.headers)).status_code == 200  # the key is kept
    last_used = sa.select(col(ApiKey.last_used_at)).where(col(ApiKey.user_id) == cast.applicant.user_id)
    with app.state.database.reader() as session:
        before = session.execute(last_used).scalar_one()
    clock.advance(minutes=5)
    assert (await client.get(url, headers=cast.applicant.headers)).status_code == 200
    with app.state.database.reader() as session:
        after = session.execute(last_used).scalar_one()
    assert before is not None and after is not None
    assert after.replace(tzinfo=UTC) > before.replace(tzinfo=UTC)
