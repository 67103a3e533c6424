"""Password hashing (Argon2id), opaque bearer tokens and API keys (stored as SHA-256)."""

import hashlib
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_passwords = PasswordHash((Argon2Hasher(),))
# A real hash to compare against when the user does not exist, so timing does not reveal it.
_DUMMY_HASH = _passwords.hash("smps-no-such-user")

API_KEY_PREFIX = "smps_"
TOKEN_PREFIX = "smpt_"


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _passwords.verify(password, _DUMMY_HASH)
        return False
    return _passwords.verify(password, password_hash)


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
