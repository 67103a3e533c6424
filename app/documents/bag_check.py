"""Checking an electronic copy (package.zip) offline, read in place from the ZIP (nothing is extracted).

The checks, in order, each named in the result when it fails: ``zip`` (a readable archive with one bag
folder), ``bagit_txt``, ``manifests`` (both payload manifests present, every payload file listed in each
and every listed file present), ``payload`` (each file's SHA-256 and SM3, and the ZIP's CRC-32),
``tag_manifests``, ``payload_oxum``, ``receipt`` (its signatures, by the published keys), ``bag_info``
(the tracking number and the receipt's digest as bag-info.txt gives them) and ``receipt_attachments``
(every attachment the receipt lists is in the bag, with that SHA-256).
"""

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from app.batches import receipts
from app.documents.bag import decode_path
from app.documents.zipstream import sm3

ALGORITHMS = ("sha256", "sm3")
READ = 1024 * 1024


@dataclass
class Result:
    valid: bool
    check: str | None = None  # the check that failed
    detail: str = ""
    files: int = 0
    tracking_number: str | None = None
    kid: str | None = None
    checked: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "failed_check": self.check,
            "detail": self.detail,
            "files": self.files,
            "tracking_number": self.tracking_number,
            "kid": self.kid,
            "checked": self.checked,
        }


class _Failed(Exception):
    def __init__(self, check: str, detail: str, kid: str | None = None) -> None:
        super().__init__(detail)
        self.check, self.detail, self.kid = check, detail, kid


def _new(alg: str) -> Any:
    return sm3() if alg == "sm3" else hashlib.new(alg)


def _manifest(text: str, name: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, path = line.partition(" ")
        path = decode_path(path.lstrip(" \t"))
        if not path or not digest:
            raise _Failed("manifests", f"{name} line {n} is not '<digest> <path>'")
        entries[path] = digest.lower()
    return entries


def _digests(zf: zipfile.ZipFile, name: str) -> dict[str, str]:
    hashers = {alg: _new(alg) for alg in ALGORITHMS}
    try:
        with zf.open(name) as fh:
            while chunk := fh.read(READ):
                for h in hashers.values():
                    h.update(chunk)
    except zipfile.BadZipFile as exc:  # the archive's own CRC-32 of the member
        raise _Failed("payload", f"{name}: {exc}") from exc
    return {alg: h.hexdigest() for alg, h in hashers.items()}


class _Bag:
    """One bag folder of the archive: its files by path inside the bag, read on demand."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
        roots = {n.split("/", 1)[0] for n in names}
        if len(roots) != 1 or any("/" not in n for n in names):
            raise _Failed("zip", "the archive does not hold exactly one bag folder")
        root = roots.pop() + "/"
        self.zf = zf
        self.files = {n[len(root) :]: n for n in names}
        self.payload = sorted(p for p in self.files if p.startswith("data/"))

    def text(self, path: str) -> str:
        if path not in self.files:
            raise _Failed("bagit_txt" if path == "bagit.txt" else "manifests", f"{path} is missing")
        return self.zf.read(self.files[path]).decode("utf-8-sig")

    def fields(self, path: str) -> dict[str, str]:
        return dict(line.split(": ", 1) for line in self.text(path).splitlines() if ": " in line)


def _check_manifests(bag: _Bag) -> dict[str, dict[str, str]]:
    manifests = {alg: _manifest(bag.text(f"manifest-{alg}.txt"), f"manifest-{alg}.txt") for alg in ALGORITHMS}
    for alg, entries in manifests.items():
        if missing := sorted(set(bag.payload) - set(entries)):
            raise _Failed("manifests", f"manifest-{alg}.txt does not list {missing[0]}")
        if absent := sorted(set(entries) - set(bag.payload)):
            raise _Failed("manifests", f"manifest-{alg}.txt lists {absent[0]}, which is not in the bag")
    return manifests


def _check_payload(bag: _Bag, manifests: dict[str, dict[str, str]]) -> set[str]:
    """The payload's SHA-256 digests, once each file matched both manifests."""
    sha256_of: dict[str, str] = {}
    for path in bag.payload:
        found = _digests(bag.zf, bag.files[path])
        for alg in ALGORITHMS:
            if found[alg] != manifests[alg][path]:
                raise _Failed("payload", f"{path}: its {alg.upper()} is not the one manifest-{alg}.txt gives")
        sha256_of[path] = found["sha256"]
    return set(sha256_of.values())


def _check_tag_manifests(bag: _Bag) -> None:
    for alg in ALGORITHMS:
        name = f"tagmanifest-{alg}.txt"
        if name not in bag.files:
            continue
        for path, digest in _manifest(bag.text(name), name).items():
            if path not in bag.files or _digests(bag.zf, bag.files[path])[alg] != digest:
                raise _Failed("tag_manifests", f"{path} does not match {name}")


def _receipt(bag: _Bag, keys: list[dict[str, Any]]) -> Any:
    if "data/receipt.json" not in bag.files:
        raise _Failed("receipt", "data/receipt.json is missing")
    try:
        document = orjson.loads(bag.zf.read(bag.files["data/receipt.json"]))
    except orjson.JSONDecodeError as exc:
        raise _Failed("receipt", "data/receipt.json is not JSON") from exc
    valid, reason, kid = receipts.check(document, keys)
    if not valid:
        raise _Failed("receipt", f"the receipt is not genuine: {reason}", kid)
    return document


def _check_receipt_attachments(document: Any, present: set[str]) -> None:
    for item in document.get("items", []):
        for attachment in item.get("attachments", []):
            if attachment.get("sha256") not in present:
                raise _Failed(
                    "receipt_attachments", f"attachment {attachment.get('id')} of the receipt is not in the bag"
                )


def _check(zf: zipfile.ZipFile, keys: list[dict[str, Any]], result: Result) -> None:
    bag = _Bag(zf)
    result.checked.append("zip")

    bagit = bag.fields("bagit.txt")
    if bagit.get("BagIt-Version") not in ("1.0", "0.97") or bagit.get("Tag-File-Character-Encoding") != "UTF-8":
        raise _Failed("bagit_txt", "bagit.txt does not declare BagIt-Version 1.0 and UTF-8")
    result.checked.append("bagit_txt")

    manifests = _check_manifests(bag)
    result.checked.append("manifests")

    present = _check_payload(bag, manifests)
    result.files = len(bag.payload)
    result.checked.append("payload")

    _check_tag_manifests(bag)
    result.checked.append("tag_manifests")

    info = bag.fields("bag-info.txt")
    oxum = f"{sum(zf.getinfo(bag.files[p]).file_size for p in bag.payload)}.{len(bag.payload)}"
    if info.get("Payload-Oxum", oxum) != oxum:
        raise _Failed("payload_oxum", f"Payload-Oxum is {info.get('Payload-Oxum')}, the payload {oxum}")
    result.checked.append("payload_oxum")

    document = _receipt(bag, keys)
    result.tracking_number = str(document["tracking_number"])
    result.checked.append("receipt")

    if info.get("External-Identifier") != document["tracking_number"]:
        raise _Failed("bag_info", "External-Identifier is not the receipt's tracking number")
    if info.get("Receipt-SHA256", receipts.digest(document)) != receipts.digest(document):
        raise _Failed("bag_info", "Receipt-SHA256 is not the receipt's digest")
    result.checked.append("bag_info")

    _check_receipt_attachments(document, present)
    result.checked.append("receipt_attachments")


def check_package(path: Path, keys: list[dict[str, Any]]) -> Result:
    result = Result(valid=False)
    try:
        with zipfile.ZipFile(path) as zf:
            _check(zf, keys, result)
    except _Failed as failed:
        result.check, result.detail, result.kid = failed.check, failed.detail, failed.kid
        return result
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as exc:
        result.check, result.detail = "zip", str(exc)
        return result
    result.valid = True
    result.detail = "genuine: the bag is whole (SHA-256 and SM3) and its receipt verifies with a published key"
    return result
