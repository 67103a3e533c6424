"""Organizations named by a bulk row: by id, or by unified social credit code (统一社会信用代码).

Provincial bureaus hold their units by credit code, not by this service's ids. A row may name any
organization (recommender, undertaking, participating, guarantor, guidance) either way; a credit code
is replaced by the id it is registered under before the row is checked, so the row then meets exactly
the rules a row naming that id meets (its own organization as undertaking, a bureau's own province, a
recommender as recommender…).

Codes and ids are looked up together, in the same query over the same organizations: an organization
that could not be named by its id cannot be named by its code either. A code no organization is
registered under is the row's error ``unknown_credit_code`` at the field that names it.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.applications.validation import OrgFacts
from app.core.errors import FieldError
from app.core.i18n import Text
from app.organizations.credit_code import ALPHABET
from app.organizations.models import Organization

# The shape of a credit code (GB 32100-2015), without its check character: an admin may have
# registered a code that fails it, and such an organization is named by that code as registered.
_CODE_SHAPE = re.compile(rf"^[{ALPHABET}]{{2}}\d{{6}}[{ALPHABET}]{{10}}$")
_SINGLE_ROLES = ("undertaking", "guarantor", "guidance")

UNKNOWN_CREDIT_CODE = Text(
    "没有以该统一社会信用代码登记的单位（可填单位 id 或已登记的统一社会信用代码）",
    "No organization is registered with this unified social credit code (give an organization id or a registered code)",
)


def as_credit_code(ref: str) -> str | None:
    """``ref`` as a credit code (upper case) when it has a credit code's shape, else ``None`` (an id)."""
    code = ref.strip().upper()
    return code if len(code) == 18 and _CODE_SHAPE.match(code) else None


def named_refs(content: dict[str, Any]) -> Iterable[str]:
    """Every organization reference of a row's form: the recommender and the parties."""
    if isinstance(content.get("recommender_id"), str):
        yield content["recommender_id"]
    parties = content.get("parties") or {}
    for role in _SINGLE_ROLES:
        if isinstance(parties.get(role), str):
            yield parties[role]
    yield from (p for p in parties.get("participating") or () if isinstance(p, str))


@dataclass
class NamedOrgs:
    """The organizations some rows name: their facts by id, and the ids of the credit codes used."""

    facts: dict[str, OrgFacts] = field(default_factory=dict)
    by_code: dict[str, str] = field(default_factory=dict)

    def resolve(self, content: dict[str, Any]) -> list[FieldError]:
        """Replace the credit codes of a row's form by their organizations' ids, in place; the errors of
        codes no organization is registered under (those stay as written, so nothing else reports them)."""
        errors: list[FieldError] = []

        def one(ref: str, pointer: str) -> str:
            if ref in self.facts:
                return ref
            code = as_credit_code(ref)
            if code is None:
                return ref  # an unknown id: the form's validation reports it (unknown_organization)
            if code in self.by_code:
                return self.by_code[code]
            errors.append(FieldError(pointer, "unknown_credit_code", UNKNOWN_CREDIT_CODE))
            return ref

        if isinstance(content.get("recommender_id"), str):
            content["recommender_id"] = one(content["recommender_id"], "/recommender_id")
        parties = content.get("parties") or {}
        for role in _SINGLE_ROLES:
            if isinstance(parties.get(role), str):
                parties[role] = one(parties[role], f"/parties/{role}")
        if parties.get("participating"):
            parties["participating"] = [
                one(p, f"/parties/participating/{i}") for i, p in enumerate(parties["participating"])
            ]
        return errors


def _chunks(items: list[str], size: int = 900) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def load_named_orgs(session: Session, refs: set[str]) -> NamedOrgs:
    """The organizations ``refs`` name, by id or by credit code: one query (per 900 references)."""
    codes = {code for ref in refs if (code := as_credit_code(ref)) is not None}
    named = NamedOrgs()
    columns = (
        col(Organization.id),
        col(Organization.province_code),
        col(Organization.credit_code),
        col(Organization.credit_code_check_failed),
        col(Organization.recommender_kind),
    )
    for part in _chunks(sorted(refs | codes)):
        # Ids and codes alike: one query, over the same organizations, so neither names more than the other.
        for row in session.execute(
            sa.select(*columns).where(sa.or_(col(Organization.id).in_(part), col(Organization.credit_code).in_(part)))
        ):
            facts = OrgFacts(*row)
            named.facts[facts.id] = facts
            if facts.credit_code in codes:
                named.by_code[facts.credit_code] = facts.id
    return named
