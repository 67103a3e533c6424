"""The packages this process has streamed whole, kept as archive maps, and what says a map still holds.

A submitted list's package is made from its receipt (fixed) and from what its documents print, which
may still move after the submission: an organization renamed, a reviewer's name, the call's contacts,
the list acknowledged. Each of those goes through a row whose ``version`` moves with it, as the stored
forms' stamps rely on (``app.documents.form_cache``). So a map is kept with a token of those versions,
read before its pass began, and serves a later download while one statement reads the same token
again — no document is read, rendered or hashed on the way.
"""

import hashlib
from dataclasses import dataclass

import orjson
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.models import User
from app.applications.models import Application, Review
from app.attachments.blobstore import BlobStore, FileSystemBlobStore
from app.batches.models import Batch, Receipt
from app.documents.archive_map import ArchiveMap
from app.documents.form_cache import party_ids
from app.documents.package import PackageFacts
from app.organizations.models import Organization
from app.readpath.bounded import BoundedLru
from app.reference.models import Call

KEPT_PACKAGES = 16  # archive maps of a few MiB each (a list of 300: ~3 MiB of headers, JSON and manifests)


@dataclass(frozen=True, slots=True)
class KeptPackage:
    archive: ArchiveMap
    token: str  # the versions its documents were made from (``package_token``)
    fonts: str  # the faces its PDFs were set with (``FormFonts.fingerprint``)
    organizations: tuple[str, ...]  # the organizations its documents print
    forms: tuple[str, ...]  # the stored forms it reads (keys in the form store)


@dataclass(frozen=True, slots=True)
class PackageCaches:
    """What this process keeps of the packages it has streamed (on ``app.state``)."""

    maps: BoundedLru[tuple[str, str], KeptPackage]  # by (receipt digest, the receipt-key URL its QR prints)
    sizes: BoundedLru[str, int]  # each package's length by receipt digest, once streamed whole or sized
    sheets: BoundedLru[str, bytes]  # the bag's workbook by a digest of what it prints (tens of KiB each)


def package_caches(app: FastAPI) -> PackageCaches:
    caches = getattr(app.state, "package_caches", None)
    if caches is None:
        caches = PackageCaches(BoundedLru(KEPT_PACKAGES), BoundedLru(10_000), BoundedLru(64))
        app.state.package_caches = caches
    return caches


def organizations_of(facts: PackageFacts, recommender_id: str) -> tuple[str, ...]:
    ids = {recommender_id}
    for _, application, _ in facts.applications:
        ids.update(party_ids(application.content, application.recommender_id))
        ids.add(application.undertaking_org_id)
    return tuple(sorted(ids))


def package_token(session: Session, batch: Batch, receipt: Receipt, organizations: tuple[str, ...]) -> str:
    """The versions of every row the package's documents print from, read in the session's transaction."""
    ids = sorted({i["application_id"] for i in receipt.document["items"]})
    versions = sa.union_all(
        sa.select(sa.literal("a"), col(Application.id), col(Application.version)).where(col(Application.id).in_(ids)),
        sa.select(sa.literal("o"), col(Organization.id), col(Organization.version)).where(
            col(Organization.id).in_(organizations)
        ),
        sa.select(sa.literal("u"), col(User.id), col(User.version)).where(
            col(User.id).in_(sa.select(col(Review.reviewer_id)).where(col(Review.application_id).in_(ids)))
        ),
        sa.select(sa.literal("c"), col(Call.id), col(Call.version)).where(col(Call.id) == batch.call_id),
        sa.select(sa.literal("b"), col(Batch.id), col(Batch.version)).where(col(Batch.id) == batch.id),
    )
    rows = sorted(tuple(r) for r in session.execute(versions))
    return hashlib.sha256(orjson.dumps([receipt.digest, rows])).hexdigest()


def still_holds(kept: KeptPackage, token: str, fonts: str, forms: BlobStore) -> bool:
    """Whether a kept map gives what making the package now would: the same versions, the same faces,
    and its stored forms still there (a forms directory may be cleared at any time; in a bucket, a form
    gone is found by the download, which drops the map)."""
    if kept.token != token or kept.fonts != fonts:
        return False
    return not isinstance(forms, FileSystemBlobStore) or all(forms.exists(key) for key in kept.forms)
