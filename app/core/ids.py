"""Opaque, non-sequential identifiers with a readable prefix (``app_…``, ``org_…``)."""

import hashlib
import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def keyed_id(prefix: str, key: str) -> str:
    """The id of a row that has a readable key (a seeded province, the demo's call and cast), the same in
    every database: documentation and examples can name it. Same shape as ``new_id``'s."""
    return f"{prefix}_{hashlib.sha256(f'{prefix}:{key}'.encode()).hexdigest()[:20]}"
