"""The electronic copy of a submitted list (电子版): a BagIt bag (RFC 8493) inside a ZIP, streamed.

The bag's members, in order: ``bagit.txt``; the payload under ``data/`` (README.txt, the signed receipt,
the list as PDF and XLSX, then per application in rank order its 申请书 PDF, its JSON and its
attachments under ``<rank>-<title>/<kind>/<filename>``); then ``bag-info.txt``, the payload manifests
(SHA-256 and SM3) and the tag manifests. Manifests go last, since the ZIP's order is free: by then every
payload file's digests are known, computed while it streamed or kept from an earlier download.

Attachments stream from the blob store in chunks; their SHA-256 is stored already, their CRC-32 and SM3
are computed the first time and kept beside the blob (``<storage_dir>/checksums`` or the bucket's
``checksums/`` prefix), so a later download or a resumed one reads a blob only for the bytes it sends.
"""

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.orm import Session
from sqlmodel import col

from app.applications.models import Application
from app.attachments.blobstore import BlobStore, FileSystemBlobStore, S3BlobStore, mapped_views
from app.attachments.models import Attachment
from app.batches.models import Batch, Receipt
from app.documents.bag import Payload, bag_info, bagit_txt, manifest, readme
from app.documents.zipstream import UNKNOWN, Digests, Made, Member, Reader, digests_of
from app.organizations.models import Organization
from app.readpath.bounded import BoundedLru
from app.reference.labels import ATTACHMENT_KINDS
from app.reference.models import Call

CHECKSUMS = "checksums"
_KEPT: BoundedLru[str, Digests] = BoundedLru(100_000)  # ~200 bytes each: 20 MB at most
# The digests of each stored 申请书 by its stamp and size (a stamp names one file forever): a later
# download sends the form without hashing it again.
_FORM_SUMS: BoundedLru[tuple[str, int], Digests] = BoundedLru(100_000)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|%]+")


def safe_name(text: str, limit: int = 80) -> str:
    """A file or folder name any unzip accepts: NFC, no separators, controls or reserved characters."""
    name = _UNSAFE.sub("_", unicodedata.normalize("NFC", text)).strip(" .") or "_"
    if len(name) > limit:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: limit - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:limit]
    return name


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``stem-2.ext``, ``stem-3.ext``… when a name differing only in case is taken."""
    stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
    candidate, n = name, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{stem}-{n}{dot}{ext}"
    taken.add(candidate.casefold())
    return candidate


def reader_of(store: BlobStore) -> Callable[[str], Reader]:
    """How a stored file's bytes are read from an offset, by key: as views of the file mapped into memory
    (nothing copied on the way to the socket; its path found once) from the filesystem, else as the store
    reads them."""
    if isinstance(store, FileSystemBlobStore):

        def mapped(key: str) -> Reader:
            path = str(store.path(key))
            return lambda offset: mapped_views(path, offset)

        return mapped
    return lambda key: lambda offset: store.read(key, offset)


def checksum_store_of(app: FastAPI) -> BlobStore:
    """Where the CRC-32 and SM3 of each blob are kept once computed (beside the forms, apart from attachments)."""
    store = getattr(app.state, "checksum_store", None)
    if store is None:
        settings = app.state.settings
        if settings.blob_backend == "s3":
            store = S3BlobStore(settings.model_copy(update={"s3_prefix": f"{settings.s3_prefix}{CHECKSUMS}/"}))
        else:
            store = FileSystemBlobStore(Path(settings.storage_dir) / CHECKSUMS)
        app.state.checksum_store = store
    return store


def _known(store: BlobStore, key: str, sha256: str) -> Digests | None:
    found = _KEPT.get(key)
    if found is not None:
        return found
    try:
        data = orjson.loads(b"".join(store.read(key)))
    except (OSError, ValueError, orjson.JSONDecodeError):
        return None
    except Exception:  # S3: no such object (botocore's ClientError)
        return None
    if data.get("sha256") != sha256:
        return None
    digests = Digests(int(data["crc32"]), sha256, str(data["sm3"]))
    _KEPT.put(key, digests)
    return digests


def _learn(store: BlobStore, key: str) -> Callable[[Digests], None]:
    def learned(digests: Digests) -> None:
        _KEPT.put(key, digests)
        body = orjson.dumps({"crc32": digests.crc32, "sha256": digests.sha256, "sm3": digests.sm3})
        temp = store.temp_dir / f"sum-{key}.tmp"  # not *.part: the attachment sweep leaves it
        try:
            temp.write_bytes(body)
            store.put(temp, key)
        except OSError:
            pass  # kept in memory; computed again by another process
        finally:
            temp.unlink(missing_ok=True)

    return learned


@dataclass
class PackageFacts:
    """What the bag is built from, read before the first byte goes out."""

    root: str  # the bag's folder in the ZIP: the tracking number
    receipt: dict[str, Any]
    receipt_digest: str
    submitted_at: datetime
    recommender: str
    call_name: str
    notice_number: str
    contact: dict[str, Any]
    applications: list[tuple[int, Application, list[Attachment]]]
    payload: list[Payload] = field(default_factory=list)
    # The size and digests of each document made so far (by path): a resumed download skips, without
    # making them again, those that lie before the range it asks for.
    known: dict[str, tuple[int, Digests]] = field(default_factory=dict)


def read_facts(session: Session, batch: Batch, receipt: Receipt) -> PackageFacts:
    call = session.get(Call, batch.call_id)
    recommender = session.get(Organization, batch.recommender_id)
    assert call is not None and recommender is not None
    document = receipt.document
    ranks = {i["application_id"]: i["rank"] for i in document["items"]}
    wanted = {a["id"] for i in document["items"] for a in i.get("attachments", [])}
    apps = {a.id: a for a in session.execute(sa.select(Application).where(col(Application.id).in_(ranks))).scalars()}
    files: dict[str, list[Attachment]] = {i: [] for i in ranks}
    for att in session.execute(
        sa.select(Attachment)
        .where(col(Attachment.application_id).in_(ranks))
        .order_by(col(Attachment.kind), col(Attachment.created_at), col(Attachment.id))
    ).scalars():
        if att.id in wanted:  # what the receipt lists, no file attached since
            files[att.application_id].append(att)
    submitted = datetime.fromisoformat(document["submitted_at"].replace("Z", "+00:00"))
    return PackageFacts(
        root=safe_name(receipt.tracking_number),
        receipt=document,
        receipt_digest=receipt.digest,
        submitted_at=submitted,
        recommender=recommender.name,
        call_name=call.name,
        notice_number=call.notice_number,
        contact=call.contact or {},
        applications=[(ranks[i], apps[i], files[i]) for i in sorted(ranks, key=ranks.__getitem__) if i in apps],
    )


def application_json(application: Application, attachments: list[tuple[Attachment, str]]) -> bytes:
    """The application as submitted: its frozen content and its files (no state that moves afterwards)."""
    return orjson.dumps(
        {
            "id": application.id,
            "call_id": application.call_id,
            "title": application.title,
            "content_digest": application.content_digest,
            "submitted_at": application.submitted_at,
            "undertaking_org_id": application.undertaking_org_id,
            "content": application.content,
            "attachments": [
                {
                    "id": a.id,
                    "kind": a.kind,
                    "filename": a.filename,
                    "media_type": a.media_type,
                    "size": a.size,
                    "sha256": a.sha256,
                    "path": path,
                }
                for a, path in attachments
            ],
        },
        option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z,
    )


@dataclass
class Renderers:
    """The documents the bag holds besides stored files, each made when the stream reaches it."""

    list_pdf: Callable[[], bytes]
    list_xlsx: Callable[[], bytes]
    form_pdf: Callable[[Application], tuple[bytes, str, Reader]]  # the 申请书, its stamp, where it is stored


def _form(render: Renderers, application: Application) -> Made:
    """An application's 申请书, its digests (computed once per stamp) and where it is stored."""
    content, stamp, stored = render.form_pdf(application)
    digests = _FORM_SUMS.get((stamp, len(content)))
    if digests is None:
        digests = digests_of(content)
        _FORM_SUMS.put((stamp, len(content)), digests)
    return Made(content, digests, stored)


def members(facts: PackageFacts, render: Renderers, blobs: BlobStore, sums: BlobStore) -> Iterator[Member]:
    """The ZIP's members in order; the tag files at the end are made from what the payload gave."""
    root = facts.root
    payload: list[Payload] = []
    reader = reader_of(blobs)

    def track(path: str) -> Callable[[Member], None]:
        def done(member: Member) -> None:
            assert member.size is not None
            payload.append(Payload(path, member.size, member.digests or UNKNOWN))
            if member.produce is not None and member.digests is not None:
                facts.known[path] = (member.size, member.digests)

        return done

    def data(path: str, produce: Callable[[], bytes | Made]) -> Member:
        size, digests = facts.known.get(f"data/{path}", (None, None))
        return Member(f"{root}/data/{path}", size, digests, produce=produce, done=[track(f"data/{path}")])

    tags: list[Payload] = []
    bagit = bagit_txt()
    yield Member(f"{root}/bagit.txt", produce=lambda: bagit, done=[_tag(tags, "bagit.txt")])
    yield data("README.txt", lambda: readme(facts))
    yield data("receipt.json", lambda: orjson.dumps(facts.receipt, option=orjson.OPT_INDENT_2))
    yield data("推荐清单.pdf", render.list_pdf)
    yield data("推荐清单.xlsx", render.list_xlsx)
    folders: set[str] = {"readme.txt", "receipt.json", "推荐清单.pdf", "推荐清单.xlsx"}
    for rank, application, attachments in facts.applications:
        folder = unique(safe_name(f"{rank:03d}-{application.title}"), folders)
        taken: set[str] = {"申请书.pdf", "application.json"}
        placed = []
        for att in attachments:
            kind = safe_name(ATTACHMENT_KINDS.get(att.kind, att.kind))
            name = unique(safe_name(att.filename, 120), taken_in(taken, kind))
            placed.append((att, f"{kind}/{name}"))
        yield data(f"{folder}/申请书.pdf", lambda a=application: _form(render, a))  # type: ignore[misc]
        body = application_json(application, [(a, f"data/{folder}/{p}") for a, p in placed])
        yield data(f"{folder}/application.json", lambda b=body: b)  # type: ignore[misc]
        for att, path in placed:
            yield Member(
                f"{root}/data/{folder}/{path}",
                size=att.size,
                digests=_known(sums, att.storage_key, att.sha256),
                read=reader(att.storage_key),
                learned=_learn(sums, att.storage_key),
                sha256=att.sha256,
                done=[track(f"data/{folder}/{path}")],
            )
    facts.payload = payload
    yield Member(f"{root}/bag-info.txt", produce=lambda: bag_info(facts, payload), done=[_tag(tags, "bag-info.txt")])
    for alg in ("sha256", "sm3"):
        name = f"manifest-{alg}.txt"
        yield Member(f"{root}/{name}", produce=lambda a=alg: manifest(payload, a), done=[_tag(tags, name)])  # type: ignore[misc]
    for alg in ("sha256", "sm3"):
        yield Member(f"{root}/tagmanifest-{alg}.txt", produce=lambda a=alg: manifest(tags, a))  # type: ignore[misc]


def taken_in(taken: set[str], folder: str) -> set[str]:
    """The names taken in a folder, kept in ``taken`` as ``folder/name``: a view for :func:`unique`."""
    return _Prefixed(taken, folder)


class _Prefixed(set[str]):
    def __init__(self, taken: set[str], folder: str) -> None:
        super().__init__()
        self.taken, self.prefix = taken, folder.casefold() + "/"

    def __contains__(self, name: object) -> bool:
        return self.prefix + str(name) in self.taken

    def add(self, name: str) -> None:
        self.taken.add(self.prefix + name)


def _tag(tags: list[Payload], path: str) -> Callable[[Member], None]:
    def done(member: Member) -> None:
        assert member.size is not None and member.digests is not None
        tags.append(Payload(path, member.size, member.digests))

    return done
