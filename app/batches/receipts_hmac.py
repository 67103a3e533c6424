"""Receipts issued before public-key signatures: canonical digest, HMAC signature, verification (legacy).

Such a receipt is a JSON document. ``digest`` is the SHA-256 of the canonical JSON (sorted keys, orjson)
of every field except ``digest`` and ``signature``; ``signature`` is HMAC-SHA256 over the digest
with the service's receipt key. ``key_id`` names the key (a digest of it, never the key itself).
"""

import hashlib
import hmac
from typing import Any

import orjson

_UNSIGNED = ("digest", "signature")


def is_legacy(document: Any) -> bool:
    """Whether ``document`` is a receipt of this kind (``signature``, no ``signatures``)."""
    return isinstance(document, dict) and "signatures" not in document and "signature" in document


def key_id(key: str) -> str:
    return "rk_" + hashlib.sha256(b"smps-receipt-key:" + key.encode()).hexdigest()[:12]


def canonical_digest(document: dict[str, Any]) -> str:
    body = {k: v for k, v in document.items() if k not in _UNSIGNED}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def sign(key: str, digest: str) -> str:
    return hmac.new(key.encode(), digest.encode(), hashlib.sha256).hexdigest()


def seal(document: dict[str, Any], key: str) -> dict[str, Any]:
    """The document with its ``key_id``, ``digest`` and ``signature``."""
    sealed = {**document, "key_id": key_id(key)}
    digest = canonical_digest(sealed)
    return {**sealed, "digest": digest, "signature": sign(key, digest)}


def verify(document: Any, key: str) -> tuple[bool, str]:
    """Whether ``document`` is a receipt this service signed and nobody changed; with a reason code."""
    if not isinstance(document, dict):
        return False, "malformed"
    digest, signature = document.get("digest"), document.get("signature")
    if not isinstance(digest, str) or not isinstance(signature, str) or "tracking_number" not in document:
        return False, "malformed"
    if document.get("key_id") != key_id(key):
        return False, "unknown_key"
    try:
        recomputed = canonical_digest(document)
    except TypeError:
        return False, "malformed"
    if not hmac.compare_digest(recomputed, digest):
        return False, "digest_mismatch"
    if not hmac.compare_digest(sign(key, digest), signature):
        return False, "signature_mismatch"
    return True, "valid"
