"""Receipts of submitted batches, signed so that anyone can verify them offline with the public keys.

What is signed is the receipt's canonical JSON (RFC 8785, JCS) without its ``signatures`` member, as
UTF-8 bytes. ``signatures`` holds one ``{"kid", "alg", "value"}`` per active key, ``value`` standard
base64 of the raw signature. The receipt's digest (printed on the PDF) is the SHA-256 of those bytes.
docs/receipts.md shows how to check one with nothing but ``openssl`` and Python's standard library.
Receipts issued before (HMAC, ``signature`` and ``key_id`` members) are checked by ``receipts_hmac``.
"""

import base64
import binascii
import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import rfc8785

from app.batches import signing
from app.batches.keystore import KeyInfo, Signer


def payload(document: dict[str, Any]) -> bytes:
    """The bytes the signatures are over."""
    return rfc8785.dumps({k: v for k, v in document.items() if k != "signatures"})


def digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(payload(document)).hexdigest()


def seal(document: dict[str, Any], signers: list[Signer]) -> dict[str, Any]:
    """The document with one signature per active key."""
    if not signers:
        raise RuntimeError("no receipt signing keys: run `smps keys generate`")
    data = payload(document)
    return {
        **document,
        "signatures": [
            {"kid": s.info.kid, "alg": s.info.alg, "value": base64.b64encode(signing.sign(s.key, data)).decode()}
            for s in signers
        ],
    }


def verify(document: Any, keys: Iterable[KeyInfo | dict[str, Any]]) -> tuple[bool, str]:
    """Whether every signature of ``document`` is good, by a published key; with a reason code.

    Reasons: ``valid``, ``malformed``, ``unsigned`` (no signature), ``duplicate_signature`` (a kid twice),
    ``unknown_key`` (a kid not among ``keys``), ``key_retired`` (its ``submitted_at`` is after the key's
    ``retired_at``), ``signature_mismatch`` (the receipt was changed, or the signature is not by that key).
    """
    valid, reason, _ = check(document, keys)
    return valid, reason


def _moment(value: Any) -> datetime | None:
    """An ISO 8601 time with its offset (``…Z``), or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _screen(document: Any, signatures: list[Any], published: dict[Any, dict[str, Any]]) -> tuple[str, str | None]:
    """Every entry looked at before any is verified: a key signs once (a repeated signature would only
    repeat the cost), and a retired key signs nothing dated after its retirement. ("", None) when fine."""
    seen: set[str] = set()
    for sig in signatures:
        if not isinstance(sig, dict) or not all(isinstance(sig.get(f), str) for f in ("kid", "alg", "value")):
            return "malformed", None
        if sig["kid"] in seen:
            return "duplicate_signature", sig["kid"]
        seen.add(sig["kid"])
        key = published.get(sig["kid"])
        if key is None or key.get("alg") != sig["alg"] or sig["alg"] not in signing.ALGORITHMS:
            return "unknown_key", sig["kid"]
        if key.get("retired_at") is not None:
            issued, retired = _moment(document.get("submitted_at")), _moment(key.get("retired_at"))
            if issued is None or retired is None:
                return "malformed", sig["kid"]
            if issued > retired:
                return "key_retired", sig["kid"]
    return "", None


def check(document: Any, keys: Iterable[KeyInfo | dict[str, Any]]) -> tuple[bool, str, str | None]:
    """``verify`` with the kid of the signature that failed, if one did."""
    if not isinstance(document, dict) or "tracking_number" not in document:
        return False, "malformed", None
    signatures = document.get("signatures")
    if not isinstance(signatures, list):
        return False, "malformed", None
    if not signatures:
        return False, "unsigned", None
    published: dict[Any, dict[str, Any]] = {}
    for entry in keys:
        k: dict[str, Any] = entry if isinstance(entry, dict) else dict(entry.public())
        published[k.get("kid")] = k
    try:
        data = payload(document)
    except (rfc8785.CanonicalizationError, TypeError, ValueError):
        return False, "malformed", None
    problem, kid = _screen(document, signatures, published)
    if problem:
        return False, problem, kid
    for sig in signatures:
        key = published[sig["kid"]]
        try:
            raw = base64.b64decode(sig["value"], validate=True)
            good = signing.verify(sig["alg"], str(key.get("public_key_pem", "")).encode(), data, raw)
        except (binascii.Error, ValueError):
            return False, "malformed", sig["kid"]
        if not good:
            return False, "signature_mismatch", sig["kid"]
    return True, "valid", None
