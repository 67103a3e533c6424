"""Opaque, non-sequential identifiers with a readable prefix (``app_…``, ``org_…``)."""

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"
