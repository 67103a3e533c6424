"""The receipt signature algorithms: Ed25519 (RFC 8032) and SM2 with SM3 (GB/T 32918.2, GB/T 32905).

Keys are PEM as OpenSSL 3 writes them: PKCS#8 private keys, SubjectPublicKeyInfo public keys (SM2 as
``id-ecPublicKey`` on the curve 1.2.156.10197.1.301). Signatures are raw bytes: Ed25519's 64 bytes, SM2's
DER ``SEQUENCE {r, s}``. SM2 hashes Z (GB/T 32918.2) with the default distinguishing ID of GB/T 35276.
``cryptography`` has no SM2 curve, so SM2 (with its SM3) is done in C by ``gmalglib`` (``secrets`` for k),
and the key files are encoded with ``asn1crypto``; signing and verification go through the system's
OpenSSL 3 where there is one (``sm2_openssl``: several times faster). The suite checks both directions against OpenSSL 3.
"""

import functools
import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from asn1crypto import algos, keys, pem
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from gmalglib.sm2 import SM2

from app.batches import sm2_openssl

Alg = Literal["Ed25519", "SM2-SM3"]
ALGORITHMS: tuple[Alg, ...] = ("Ed25519", "SM2-SM3")
SM2_CURVE_OID = "1.2.156.10197.1.301"
SM2_DEFAULT_ID = b"1234567812345678"

keys.NamedCurve.register("sm2p256v1", SM2_CURVE_OID, 32)  # asn1crypto lacks it; registering again changes nothing
_SM2_PARAMS = keys.ECDomainParameters(name="named", value="sm2p256v1")


def _sm2(scalar: bytes | None, point: bytes | None) -> SM2:
    given = {name: value for name, value in (("sk", scalar), ("pk", point)) if value is not None}
    return SM2(**given, uid=SM2_DEFAULT_ID, rnd_fn=secrets.token_bytes)


class KeyFormatError(ValueError):
    """A PEM file that is not a key of the expected algorithm."""


@dataclass(frozen=True)
class PrivateKey:
    alg: Alg
    pem: bytes  # PKCS#8, never logged nor sent
    public_pem: bytes

    def __repr__(self) -> str:  # keep the secret out of tracebacks and logs
        return f"PrivateKey(alg={self.alg!r})"


def kid_for(alg: Alg, public_pem: bytes) -> str:
    """A key id derived from the public key, so it names the key without a registry."""
    der = pem.unarmor(public_pem)[2]
    prefix = "ed25519" if alg == "Ed25519" else "sm2"
    return f"{prefix}-{hashlib.sha256(der).hexdigest()[:16]}"


def generate(alg: Alg) -> PrivateKey:
    if alg == "Ed25519":
        key = Ed25519PrivateKey.generate()
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return PrivateKey(alg, private, public)
    sk, pk = _sm2(None, None).generate_keypair()
    ec = keys.ECPrivateKey(
        {
            "version": "ecPrivkeyVer1",
            "private_key": int.from_bytes(sk, "big"),
            "parameters": _SM2_PARAMS,
            "public_key": pk,
        }
    )
    info = keys.PrivateKeyInfo(
        {"version": 0, "private_key": ec, "private_key_algorithm": {"algorithm": "ec", "parameters": _SM2_PARAMS}}
    )
    return PrivateKey(alg, pem.armor("PRIVATE KEY", info.dump()), _sm2_public_pem(pk))


def _sm2_public_pem(point: bytes) -> bytes:
    spki = keys.PublicKeyInfo({"algorithm": {"algorithm": "ec", "parameters": _SM2_PARAMS}, "public_key": point})
    armored: bytes = pem.armor("PUBLIC KEY", spki.dump())
    return armored


def _unarmor(data: bytes, kind: str) -> bytes:
    try:
        name, _, der = pem.unarmor(data)
    except ValueError as exc:
        raise KeyFormatError("not PEM") from exc
    if name != kind:
        raise KeyFormatError(f"expected a {kind}, found a {name}")
    body: bytes = der
    return body


@functools.lru_cache(maxsize=64)
def _sm2_private(der: bytes) -> tuple[bytes, bytes]:
    """(32-byte scalar, uncompressed public point) of a PKCS#8 SM2 key."""
    try:
        info = keys.PrivateKeyInfo.load(der)
        params = info["private_key_algorithm"]["parameters"]
        if info["private_key_algorithm"]["algorithm"].native != "ec" or params.chosen.dotted != SM2_CURVE_OID:
            raise KeyFormatError("not an SM2 key")
        ec = info["private_key"].parsed
        scalar = ec["private_key"].native.to_bytes(32, "big")
        point = ec["public_key"].native
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyFormatError("not an SM2 PKCS#8 key") from exc
    # The public point is optional in the file (OpenSSL writes it); deriving it costs a scalar multiplication.
    derived = SM2.get_pk(scalar) if not point else bytes(point)
    return scalar, derived


def load_private(alg: Alg, data: bytes) -> PrivateKey:
    der = _unarmor(data, "PRIVATE KEY")
    if alg == "Ed25519":
        key = serialization.load_der_private_key(der, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFormatError("not an Ed25519 key")
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return PrivateKey(alg, data, public)
    _, point = _sm2_private(der)
    return PrivateKey(alg, data, _sm2_public_pem(point))


def sign(key: PrivateKey, payload: bytes) -> bytes:
    if key.alg == "SM2-SM3":
        made = sm2_openssl.sign(key.pem, payload, SM2_DEFAULT_ID)
        if made is not None:
            return made
    der = _unarmor(key.pem, "PRIVATE KEY")
    if key.alg == "Ed25519":
        private = serialization.load_der_private_key(der, password=None)
        assert isinstance(private, Ed25519PrivateKey)
        return private.sign(payload)
    scalar, point = _sm2_private(der)
    rs = _sm2(scalar, point).sign(payload)
    signature: bytes = algos.DSASignature(
        {"r": int.from_bytes(rs[:32], "big"), "s": int.from_bytes(rs[32:], "big")}
    ).dump()
    return signature


@functools.lru_cache(maxsize=256)
def _sm2_point(public_pem: bytes) -> bytes:
    try:
        spki = keys.PublicKeyInfo.load(_unarmor(public_pem, "PUBLIC KEY"))
        params = spki["algorithm"]["parameters"]
        if spki["algorithm"]["algorithm"].native != "ec" or params.chosen.dotted != SM2_CURVE_OID:
            raise KeyFormatError("not an SM2 public key")
        return bytes(spki["public_key"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyFormatError("not an SM2 public key") from exc


def check_public(alg: Alg, public_pem: bytes) -> None:
    """Raise ``KeyFormatError`` unless ``public_pem`` is a public key of ``alg``."""
    if alg == "Ed25519":
        try:
            key = serialization.load_pem_public_key(public_pem)
        except ValueError as exc:
            raise KeyFormatError("not a public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFormatError("not an Ed25519 public key")
    elif not _sm2_point_valid(public_pem):
        raise KeyFormatError("not a point of the SM2 curve")


@functools.lru_cache(maxsize=256)
def _sm2_point_valid(public_pem: bytes) -> bool:
    return bool(SM2.is_pk_valid(_sm2_point(public_pem)))


def verify(alg: Alg, public_pem: bytes, payload: bytes, signature: bytes) -> bool:
    check_public(alg, public_pem)
    if alg == "Ed25519":
        key = serialization.load_pem_public_key(public_pem)
        assert isinstance(key, Ed25519PublicKey)
        try:
            key.verify(signature, payload)
        except InvalidSignature:
            return False
        return True
    # OpenSSL parses the DER itself (strictly: canonical encoding, r and s in [1, n-1]).
    judged = sm2_openssl.verify(public_pem, payload, signature, SM2_DEFAULT_ID)
    if judged is not None:
        return judged
    try:
        parsed = algos.DSASignature.load(signature, strict=True)
        r, s = parsed["r"].native, parsed["s"].native
    except (ValueError, TypeError):
        return False
    if (
        not (isinstance(r, int) and isinstance(s, int))
        or r <= 0
        or s <= 0
        or r.bit_length() > 256
        or s.bit_length() > 256
    ):
        return False
    return bool(_sm2(None, _sm2_point(public_pem)).verify(payload, r.to_bytes(32, "big") + s.to_bytes(32, "big")))
