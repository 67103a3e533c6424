"""API keys this process has resolved, and the check that one still stands for the same caller.

A hot read would otherwise spend a query on the caller before the one on the application. A key
resolved once is kept here with the principal it stood for; the read's query on the application then
carries ``STILL_GRANTS``: the resolver's own condition for a key that grants
(``app.accounts.principal.api_key_grants``: not revoked, its user active, with the user's organization),
for this key's id, and every fact the principal is made of — organization, roles, the organization's
province and kind — what it was. It is read in the same snapshot as the application; when it is false,
the caller is resolved afresh. A revocation, a deactivation or a change of roles therefore counts from
the next request, exactly as without the hint, on every instance.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from app.accounts.models import ApiKey, User
from app.accounts.principal import Principal, api_key_grants
from app.core.fast.select import DirectSelect, Executor
from app.organizations.models import Organization
from app.readpath.bounded import BoundedLru

# Roles as the store holds them (text of the JSON column), compared as such: no serializer's spacing or
# order can make a changed list look unchanged, or an unchanged one look changed.
_ROLES_TEXT = sa.cast(col(User.roles), sa.Text)

STILL_GRANTS = (
    sa.exists()
    .where(
        api_key_grants(col(ApiKey.id) == sa.bindparam("key_id")),
        col(User.organization_id) == sa.bindparam("org"),
        sa.bindparam("roles_text", type_=sa.Text) == _ROLES_TEXT,
        col(Organization.province_code) == sa.bindparam("province", type_=sa.String),
        col(Organization.recommender_kind).is_not_distinct_from(sa.bindparam("kind", type_=sa.String)),
    )
    .label("still_grants")
)
_STORED_ROLES = DirectSelect(sa.select(_ROLES_TEXT).where(col(User.id) == sa.bindparam("user_id")))


@dataclass(slots=True)
class KeyHint:
    principal: Principal
    roles_text: str
    last_used: datetime  # as this process last saw or recorded it

    def params(self) -> dict[str, Any]:
        """The bound parameters of ``STILL_GRANTS`` (``org`` is the loader's too: the same value)."""
        p = self.principal
        return {
            "key_id": p.api_key_id,
            "org": p.organization_id,
            "roles_text": self.roles_text,
            "province": p.province_code,
            "kind": p.recommender_kind,
        }


class KeyHints:
    """Hints by the key's digest (what the store holds too), the least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self._hints: BoundedLru[str, KeyHint] = BoundedLru(size)

    def get(self, digest: str) -> KeyHint | None:
        return self._hints.get(digest)

    def keep(self, db: Executor, digest: str, principal: Principal, now: datetime) -> None:
        """Keep ``principal``, just resolved from the key of ``digest`` in ``db``'s transaction."""
        stored = _STORED_ROLES.first(db, {"user_id": principal.user_id})
        if stored is not None:
            self._hints.put(digest, KeyHint(principal, stored[0], now))

    def forget(self, digest: str) -> None:
        self._hints.pop(digest)
