"""``GET /applications/{id}``: the hottest read of the service, answered on its lean route through the
read path's door (``app.readpath``) with the view ``ApplicationBody``.

What the answer costs beyond the framework's own work (``python -m bench.read_path``), and what keeps it
low:

- Rows come straight from the driver (``DirectSelect``), not as ORM objects: the representation only
  reads attributes. Caller, application and deadlines are read in one transaction, so they agree; for an
  API key this process has resolved before, in one query (``app.readpath.hints``).
- The encoded body of an application version is kept in memory (``app.readpath.kept.Representations``).
  A version is named by the row's ``id``, ``version`` and ``updated_at``: every change to what the body
  shows — an edit, a sign-off, a paper verification, a review, a batch step — goes through a
  compare-and-set that moves ``version``, and a version once committed never changes. So a hit needs
  only the columns that decide who may see the row and which actions the caller has (a row of a few
  short columns), never the form itself or its sign-offs. The caller's actions are part of the key,
  since they depend on who asks and on the deadline.
- The ETag names the body the caller gets: the version and a digest of those actions
  (``app.core.deps.etag``), so a browser revalidating another user's cached copy gets 200 and this
  caller's body, never 304; ``Vary: Authorization`` and ``private, no-cache`` say the same to caches.
"""

import functools
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import Request, Response, status
from sqlmodel import col

from app.accounts.principal import oauth2_scheme
from app.applications import service
from app.applications.access import loader
from app.applications.models import Application
from app.applications.schemas import SignOff
from app.core.caching import PRIVATE
from app.core.deps import etag, if_none_match_matches
from app.core.fast.select import DirectSelect, Executor
from app.readpath import STILL_GRANTS, Visible, read_path_of
from app.readpath.kept import Caller, Representations, Version

# What a read needs of the row before it knows whether its body is kept: who may see it (the loader's
# filter), which version it is, and what decides the caller's actions, with the two deadlines.
_HEAD = (
    col(Application.id),
    col(Application.version),
    col(Application.updated_at),
    col(Application.state),
    col(Application.call_id),
    col(Application.recommender_id),
    col(Application.undertaking_org_id),
    col(Application.entered_by_org_id),
    service.CALL_DEADLINE,
    service.RECOMMENDER_DEADLINE,
)
_ROW = DirectSelect(sa.select(Application).where(col(Application.id) == sa.bindparam("application_id")))
_ENDORSEMENTS = DirectSelect(service.CURRENT_ENDORSEMENTS)
_NO_PARAMS: dict[str, Any] = {}  # the head takes none beyond the door's


@functools.lru_cache(maxsize=128)
def _head(roles: frozenset[str], recommender_kind: str | None, checked: bool) -> DirectSelect:
    """The head for a kind of caller; ``checked``: with whether the caller's hinted API key still stands."""
    extra = (STILL_GRANTS,) if checked else ()
    return DirectSelect(loader(roles, recommender_kind).with_only_columns(*_HEAD, *extra))


def _load(db: Executor, application_id: str) -> tuple[Any, list[Any], list[SignOff]]:
    row = _ROW.first(db, {"application_id": application_id})
    assert row is not None, "read in the transaction that found it visible"
    endorsements = _ENDORSEMENTS.all(db, {"application_id": application_id})
    return row, endorsements, service.sign_offs(row, endorsements)


@dataclass(frozen=True, slots=True)
class ApplicationBody:
    """The view of ``GET /applications/{id}``: the encoded body and its ETag, kept per version."""

    kept: Representations[list[SignOff]]
    params: dict[str, Any]

    def statement(self, roles: frozenset[str], recommender_kind: str | None, *, checked: bool) -> DirectSelect:
        return _head(roles, recommender_kind, checked)

    def answer(self, visible: Visible, db: Executor | None) -> tuple[bytes, str] | None:
        principal, head, kept = visible.principal, visible.row, self.kept
        closed = service.deadlines_passed(visible.now, head.state, (head.call_deadline, head.recommender_deadline))
        version: Version = (head.id, head.version, head.updated_at)
        caller: Caller = (principal, closed)
        loaded = None
        actions = kept_actions = kept.actions(version, caller)
        if actions is None:
            signs = kept.sign_offs(version)
            if signs is None:
                if db is None:
                    return None
                loaded = _load(db, head.id)
                signs = loaded[2]
            actions = tuple(service.open_actions(principal, head, signs, closed=closed))
        body = kept.body(version, actions)
        if body is None:
            if db is None:
                return None
            row, endorsements, signs = loaded or _load(db, head.id)
            public = service.represent(principal, row, endorsements, closed=closed)
            body = public.__pydantic_serializer__.to_json(public)
            kept.keep(version, signs, tuple(public.allowed_actions), body)
        if kept_actions is None:
            kept.keep_actions(version, caller, actions)
        return body, etag(head.version, actions)


async def answer_read(request: Request, credential: str | None, application_id: str) -> Response:
    """The response to ``GET /applications/{id}``: 200 with the ETag of the caller's representation
    (version and actions), or 304 on a matching ``If-None-Match``; the body depends on who asks, so
    caches must key it by the credentials and revalidate (``PRIVATE``)."""
    read_path = read_path_of(request)
    view = ApplicationBody(read_path.bodies, _NO_PARAMS)
    body, tag = await read_path.read_visible(request, credential, application_id, view)
    if if_none_match_matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag, **PRIVATE})
    return Response(body, media_type="application/json", headers={"ETag": tag, **PRIVATE})


async def lean_get_application(request: Request) -> Response | None:
    """The lean handler of ``GET /applications/{id}``: the endpoint's parameters read without FastAPI's
    per-request solving; an id too long for the path is left to FastAPI's handler, which words the 422."""
    application_id = request.path_params["application_id"]
    if len(application_id) > 32:
        return None
    return await answer_read(request, await oauth2_scheme(request), application_id)
