"""The keyset helper: pages cover a list exactly once in its order; a token that is not one is a 422."""

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import col

from app.core.errors import ValidationFailed
from app.core.pagination import Keyset, encode_token, keyset_page, keyset_query
from app.organizations.models import Organization
from tests.factories import make_org


def _walk(app: FastAPI, keyset: Keyset, page_size: int) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    token: str | None = None
    with app.state.database.reader() as session:
        while True:
            query = keyset_query(sa.select(Organization), keyset, token, page_size)
            rows, token = keyset_page(session.execute(query).scalars().all(), keyset, page_size)
            assert len(rows) <= page_size
            seen += [(o.created_at.isoformat(), o.id) for o in rows]
            if token is None:
                return seen


@pytest.mark.parametrize("descending", [False, True])
def test_pages_cover_the_list_once_in_order(app: FastAPI, descending: bool) -> None:
    for _ in range(5):
        make_org(app)
    keyset = Keyset((col(Organization.created_at), col(Organization.id)), descending=descending)
    seen = _walk(app, keyset, 2)
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=descending)
    with app.state.database.reader() as session:
        assert len(seen) == session.execute(sa.select(sa.func.count()).select_from(Organization)).scalar_one()


@pytest.mark.parametrize(
    "token",
    [
        "not-base64-json",
        encode_token(["only-one"]),
        encode_token(["2026-01-01T00:00:00", "org_x"]),
        encode_token([1, 2]),
    ],
)
def test_a_token_that_is_not_one_of_ours_is_refused(token: str) -> None:
    keyset = Keyset((col(Organization.created_at), col(Organization.id)))
    with pytest.raises(ValidationFailed):
        keyset_query(sa.select(Organization), keyset, token, 10)
