"""``ReadPath.read_visible``: the one door to the hot reads of one application.

A *view* says what a read shows of an application (``View``): the statement of its row for a kind of
caller — the loader's filter, its columns, with ``STILL_GRANTS`` when ``checked`` — and the answer made
from that row. The door finds the caller and the row the caller may see, and runs the view, on one of
two data paths, one per backend:

- ``_on_sqlite_loop``: the caller, the row and the answer in one read transaction on the event loop's
  own connection (``app.core.fast.reader``): lookups in this process's page cache.
- ``_on_postgres``: for an API key this process has resolved before, the row and the key's check in one
  statement awaited on the loop (``app.core.fast.server_reader.LoopStatements``), answered from what is
  kept; anything else — a key not seen before, a token, an answer not kept, a key that changed — read
  whole on one read-only snapshot in a read thread (``ServerReader``).

Either way the caller is who the credential stands for now, and the answer is what the view makes of the
row as committed: the hint and what is kept only save work.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

import anyio
from fastapi import Request

from app.accounts.principal import Principal, RecordUse, authenticate, key_use_due, read_on_loop, record_key_use
from app.core.db import Database
from app.core.errors import NotFound
from app.core.fast.select import DirectSelect, Executor
from app.core.security import API_KEY_PREFIX, secret_hash
from app.core.settings import Settings
from app.readpath.bounded import BoundedLru
from app.readpath.hints import KeyHint, KeyHints
from app.readpath.kept import KeptForms, Parties, Representations

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, slots=True)
class Visible:
    """The caller, the row of the application they may see (the view's columns), and when it was read."""

    principal: Principal
    row: Any
    now: datetime


class View(Protocol[T_co]):
    """What a read shows of one application."""

    @property
    def params(self) -> dict[str, Any]:
        """Any more parameters its statements take."""
        ...

    def statement(self, roles: frozenset[str], recommender_kind: str | None, *, checked: bool) -> DirectSelect:
        """The row's statement for a kind of caller, with ``STILL_GRANTS`` (``checked``) for a hinted key."""
        ...

    def answer(self, visible: Visible, db: Executor | None) -> T_co | None:
        """The answer, loading what is not kept through ``db``; None if something is not kept and no ``db``."""
        ...


@dataclass(frozen=True, slots=True)
class _Hinted:
    """A read by a caller whose API key this process has resolved: the one query that checks the key too."""

    digest: str
    hint: KeyHint
    now: datetime
    head: DirectSelect  # its rows carry ``still_grants``
    params: dict[str, Any]


class ReadPath:
    """The hot reads' door and everything they keep, one per application (``app.state.read_path``)."""

    def __init__(self, settings: Settings) -> None:
        self.key_hints = KeyHints(settings.read_key_hints)
        # The body and sign-offs of an application version (the view of GET /applications/{id}).
        self.bodies: Representations[Any] = Representations(settings.read_bodies_max_bytes)
        self.forms = KeptForms(settings.read_forms_max_bytes)
        self.form_parties: BoundedLru[str, Parties] = BoundedLru(settings.read_form_parties)

    async def read_visible(self, request: Request, credential: str | None, application_id: str, view: View[T]) -> T:
        """What ``view`` shows of the application to the caller of ``credential``; 401 and 404 as the
        problems say (a caller who may not see it is told it is not there)."""
        database: Database = request.app.state.database
        if database.dialect == "sqlite":
            return await self._on_sqlite_loop(request, database, credential, application_id, view)
        return await self._on_postgres(request, database, credential, application_id, view)

    async def read_row(self, request: Request, select: DirectSelect, params: dict[str, Any]) -> Any | None:
        """The first row of a statement that needs no caller (its own snapshot), on the backend's
        cheapest path: the event loop's connection (SQLite) or a statement awaited on the loop."""
        database: Database = request.app.state.database
        if database.dialect == "sqlite":
            with database.loop_reader.transaction() as db:
                return select.first(db, params)
        return await database.loop_statements.first(select, params)

    async def _on_sqlite_loop(
        self, request: Request, database: Database, credential: str | None, application_id: str, view: View[T]
    ) -> T:
        return await read_on_loop(
            database, lambda db, record_use: self._read_whole(request, db, credential, application_id, view, record_use)
        )

    async def _on_postgres(
        self, request: Request, database: Database, credential: str | None, application_id: str, view: View[T]
    ) -> T:
        known = self._hinted(request, credential, application_id, view)
        if known is not None:
            row = await database.loop_statements.first(known.head, known.params)
            if await self._granted_on_loop(request, known, row):
                request.state.user_id = known.hint.principal.user_id  # for the request's log line
                answer = view.answer(Visible(known.hint.principal, row, known.now), None)
                if answer is not None:
                    return answer
        return await database.server_reader.run_in_thread(
            lambda db: self._read_whole(request, db, credential, application_id, view, None), snapshot=True
        )

    def _read_whole(
        self,
        request: Request,
        db: Executor,
        credential: str | None,
        application_id: str,
        view: View[T],
        record_use: RecordUse | None,
    ) -> T:
        answer = view.answer(self._visible(request, db, credential, application_id, view, record_use), db)
        assert answer is not None, "read with a transaction to load from"
        return answer

    def _visible(
        self,
        request: Request,
        db: Executor,
        credential: str | None,
        application_id: str,
        view: View[Any],
        record_use: RecordUse | None,
    ) -> Visible:
        """The caller and the row they may see, read in ``db``'s transaction; 404 if they may not."""
        known = self._hinted(request, credential, application_id, view)
        if known is not None:
            row = known.head.first(db, known.params)
            if self._still_granted(request, known, row, record_use):
                return _found(request, Visible(known.hint.principal, row, known.now))
        now = request.app.state.clock()
        principal = self._resolve(request, db, credential, now, record_use)
        row = view.statement(principal.roles, principal.recommender_kind, checked=False).first(
            db, {"org": principal.organization_id, "application_id": application_id, **view.params}
        )
        return _found(request, Visible(principal, row, now))

    def _hinted(self, request: Request, credential: str | None, application_id: str, view: View[Any]) -> _Hinted | None:
        """The hinted read of the application for this caller, if their key is hinted."""
        if not (credential and credential.startswith(API_KEY_PREFIX)):
            return None
        digest = secret_hash(credential)
        hint = self.key_hints.get(digest)
        if hint is None:
            return None
        principal = hint.principal
        return _Hinted(
            digest,
            hint,
            request.app.state.clock(),
            view.statement(principal.roles, principal.recommender_kind, checked=True),
            {"application_id": application_id, **hint.params(), **view.params},
        )

    def _still_granted(self, request: Request, hinted: _Hinted, row: Any, record_use: RecordUse | None) -> bool:
        """Whether the hinted key still stands for its principal, who may see the application; its use
        recorded when due. Otherwise the hint is forgotten: the caller is resolved afresh."""
        if row is None or not row.still_grants:
            self.key_hints.forget(hinted.digest)  # changed, or not visible: answered as without a hint
            return False
        if key_use_due(hinted.hint.last_used, hinted.now):
            (record_use or record_key_use)(request.app.state.database, hinted.params["key_id"], hinted.now)
            hinted.hint.last_used = hinted.now
        return True

    async def _granted_on_loop(self, request: Request, hinted: _Hinted, row: Any) -> bool:
        """``_still_granted`` for a row read on the event loop: the key's use, when due, recorded in a
        thread (a short write, which may wait for a lock)."""
        uses: list[tuple[Database, str, datetime]] = []
        if not self._still_granted(request, hinted, row, lambda *use: uses.append(use)):
            return False
        for use in uses:
            await anyio.to_thread.run_sync(record_key_use, *use)
        return True

    def _resolve(
        self, request: Request, db: Executor, credential: str | None, now: datetime, record_use: RecordUse | None
    ) -> Principal:
        """The caller, authenticated afresh; an API key is kept for the hinted reads that follow."""
        database = request.app.state.database
        principal = authenticate(db, database, credential, now, read_only=True, record_use=record_use)
        if credential and credential.startswith(API_KEY_PREFIX):
            self.key_hints.keep(db, secret_hash(credential), principal, now)
        return principal


def _found(request: Request, visible: Visible) -> Visible:
    request.state.user_id = visible.principal.user_id  # for the request's log line
    if visible.row is None:
        raise NotFound()
    return visible


def read_path_of(request: Request) -> ReadPath:
    """The application's read path (made by ``install``)."""
    read_path: ReadPath = request.app.state.read_path
    return read_path


def install(app: Any, settings: Settings) -> ReadPath:
    """Give ``app`` its read path, sized by its ``settings`` (``SMPS_READ_*``)."""
    app.state.read_path = ReadPath(settings)
    read_path: ReadPath = app.state.read_path
    return read_path
