"""``POST /receipts/verify``: the published-key check of ``receipts``, bounded before it is paid, and the
service's own record of what it issued.

A receipt carries at most one signature per published key (422 otherwise, before any signature is
checked). Once its signatures verify, a receipt whose tracking number this service never issued is
``not_issued``, and one that differs from the stored receipt of that number is ``digest_mismatch``:
a retired key in the wrong hands could sign a backdated receipt that passes offline, never this check.
"""

from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from app.batches import receipts
from app.batches.keystore import KeyInfo
from app.batches.models import Receipt
from app.batches.signing import ALGORITHMS
from app.core.db import Database
from app.core.errors import FieldError, ValidationFailed
from app.core.i18n import Text


def bound_signatures(document: dict[str, Any], published: list[KeyInfo]) -> None:
    """422 when ``signatures`` holds more entries than there are published keys (a receipt may always carry
    one per algorithm, so a service with no key yet answers its receipts ``unknown_key``), or a kid twice."""
    signatures = document.get("signatures")
    if not isinstance(signatures, list):
        return  # not a receipt: answered valid=false, malformed
    limit = max(len(published), len(ALGORITHMS))
    if len(signatures) > limit:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "/signatures",
                    "too_many_signatures",
                    Text("签名数超过已公布的密钥数 {limit}", "More signatures than published keys ({limit})"),
                    (("limit", limit),),
                )
            ]
        )
    seen: set[Any] = set()
    for index, entry in enumerate(signatures):
        kid = entry.get("kid") if isinstance(entry, dict) else None
        if kid is not None and kid in seen:
            raise ValidationFailed(
                errors=[
                    FieldError(
                        f"/signatures/{index}",
                        "duplicate_signature",
                        Text("同一密钥的签名重复", "A key signs the receipt more than once"),
                    )
                ]
            )
        seen.add(kid)


def verify_issued(database: Database, document: dict[str, Any], published: list[KeyInfo]) -> tuple[bool, str]:
    """The offline check, then whether this service issued exactly this receipt."""
    valid, reason = receipts.verify(document, published)
    if not valid:
        return valid, reason
    with database.transaction(read=True) as session:
        stored = session.execute(
            sa.select(col(Receipt.digest)).where(col(Receipt.tracking_number) == str(document["tracking_number"]))
        ).scalar_one_or_none()
    if stored is None:
        return False, "not_issued"
    if stored != receipts.digest(document):
        return False, "digest_mismatch"
    return True, "valid"
