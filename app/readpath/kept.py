"""What the read path keeps in memory besides key hints: encoded bodies by version, and stored forms by stamp.

Neither is ever invalidated. A body is named by its application's version, and every change to what it
shows moves that version (``tests/readpath/test_versions.py``); a form is named by a stamp that covers
everything it prints. A newer version or stamp is another key; the old one ages out, least recently
used first, within a bound in bytes. Several instances need not agree on anything.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from app.accounts.principal import Principal

S = TypeVar("S")
# An application version: the row's id, ``version`` and ``updated_at``. Once committed it never changes.
Version = tuple[str, int, datetime]
# Who reads a version, as far as its actions go: the principal, and whether the deadline has passed.
Caller = tuple[Principal, bool]
# A version read by more callers than this forgets the actions it kept, and keeps them afresh.
CALLERS_PER_VERSION = 64


@dataclass(slots=True)
class _Kept(Generic[S]):
    signs: S
    bodies: dict[tuple[str, ...], bytes]  # by the caller's actions
    actions: dict[Caller, tuple[str, ...]]


class Representations(Generic[S]):
    """Encoded bodies by application version and the caller's actions, least recently used first out,
    within ``max_bytes`` of bodies. Each version also keeps its sign-offs ``S`` (which decide the
    actions), and the actions of the callers who read it lately (a principal and whether the deadline
    has passed: what else decides them is the version's), so a kept answer costs no walk of the
    workflow table."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._size = 0
        self._versions: OrderedDict[Version, _Kept[S]] = OrderedDict()
        self._lock = threading.Lock()  # PostgreSQL reads run in worker threads

    def sign_offs(self, version: Version) -> S | None:
        with self._lock:
            kept = self._versions.get(version)
            if kept is None:
                return None
            self._versions.move_to_end(version)
            return kept.signs

    def actions(self, version: Version, caller: Caller) -> tuple[str, ...] | None:
        with self._lock:
            kept = self._versions.get(version)
            return kept.actions.get(caller) if kept is not None else None

    def body(self, version: Version, actions: tuple[str, ...]) -> bytes | None:
        with self._lock:
            kept = self._versions.get(version)
            return kept.bodies.get(actions) if kept is not None else None

    def keep_actions(self, version: Version, caller: Caller, actions: tuple[str, ...]) -> None:
        with self._lock:
            kept = self._versions.get(version)
            if kept is None:
                return
            if len(kept.actions) >= CALLERS_PER_VERSION:
                kept.actions.clear()
            kept.actions[caller] = actions

    def keep(self, version: Version, signs: S, actions: tuple[str, ...], body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            kept = self._versions.setdefault(version, _Kept(signs, {}, {}))
            previous = kept.bodies.get(actions)
            kept.bodies[actions] = body
            self._size += len(body) - (len(previous) if previous is not None else 0)
            self._versions.move_to_end(version)
            while self._size > self.max_bytes:
                _, dropped = self._versions.popitem(last=False)
                self._size -= sum(len(b) for b in dropped.bodies.values())


class KeptForms:
    """Stored forms this process served lately, by stamp: a stamp names one file forever, so nothing
    is invalidated. Bounded in bytes, the least recently used dropped first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._forms: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()  # renders run in worker threads

    def get(self, digest: str) -> bytes | None:
        with self._lock:
            content = self._forms.get(digest)
            if content is not None:
                self._forms.move_to_end(digest)
            return content

    def keep(self, digest: str, content: bytes) -> None:
        if len(content) > self.max_bytes:
            return
        with self._lock:
            previous = self._forms.pop(digest, None)
            self._size += len(content) - (len(previous) if previous is not None else 0)
            self._forms[digest] = content
            while self._size > self.max_bytes:
                _, dropped = self._forms.popitem(last=False)
                self._size -= len(dropped)


# The organizations of a frozen application's form, by application: (content digest, party ids).
Parties = tuple[str | None, list[str]]
