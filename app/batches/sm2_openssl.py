"""SM2-with-SM3 verification by the system's OpenSSL 3 (``libcrypto``), when it is there.

``cryptography`` has no SM2, and gmalglib's verification (C, but without OpenSSL's precomputation)
costs several times OpenSSL's. A receipt's signatures are checked on every ``POST /receipts/verify``,
so the verification goes through OpenSSL's EVP interface when this process can load a libcrypto 3
that knows SM2: ``EVP_DigestVerify`` with SM3 and the distinguishing ID set on the key's context, as
``openssl pkeyutl -verify -digest sm3 -pkeyopt distid:…`` does (docs/receipts.md). Without one,
``available()`` is false and app/batches/signing.py uses gmalglib. The parsed public keys are kept
(read-only once made, OpenSSL lets threads share them); each call makes and frees its own contexts.
"""

import ctypes
import ctypes.util
import functools
import threading
from typing import Any


class _LibCrypto:
    def __init__(self, lib: ctypes.CDLL) -> None:
        vp, i, sz, cp = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p
        self.bio_new_mem_buf = self._fn(lib, "BIO_new_mem_buf", vp, cp, i)
        self.bio_free = self._fn(lib, "BIO_free", i, vp)
        self.read_pubkey = self._fn(lib, "PEM_read_bio_PUBKEY", vp, vp, vp, vp, vp)
        self.pkey_free = self._fn(lib, "EVP_PKEY_free", None, vp)
        self.pkey_is_a = self._fn(lib, "EVP_PKEY_is_a", i, vp, cp)
        self.md_ctx_new = self._fn(lib, "EVP_MD_CTX_new", vp)
        self.md_ctx_free = self._fn(lib, "EVP_MD_CTX_free", None, vp)
        self.pkey_ctx_new = self._fn(lib, "EVP_PKEY_CTX_new_from_pkey", vp, vp, vp, vp)
        self.pkey_ctx_free = self._fn(lib, "EVP_PKEY_CTX_free", None, vp)
        self.set1_id = self._fn(lib, "EVP_PKEY_CTX_set1_id", i, vp, cp, i)
        self.set_pkey_ctx = self._fn(lib, "EVP_MD_CTX_set_pkey_ctx", None, vp, vp)
        self.sm3 = self._fn(lib, "EVP_sm3", vp)
        self.verify_init = self._fn(lib, "EVP_DigestVerifyInit", i, vp, vp, vp, vp, vp)
        self.verify = self._fn(lib, "EVP_DigestVerify", i, vp, cp, sz, cp, sz)
        self.clear_errors = self._fn(lib, "ERR_clear_error", None)

    @staticmethod
    def _fn(lib: ctypes.CDLL, name: str, restype: Any, *argtypes: Any) -> Any:
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, list(argtypes)
        return function


@functools.cache
def _lib() -> _LibCrypto | None:
    """libcrypto 3 with SM2 and SM3, or None."""
    name = ctypes.util.find_library("crypto")
    if name is None:
        return None
    try:
        lib = _LibCrypto(ctypes.CDLL(name))
    except (OSError, AttributeError):  # not found, or an OpenSSL before 3 (no EVP_PKEY_CTX_new_from_pkey)
        return None
    return lib if lib.sm3() else None


def available() -> bool:
    return _lib() is not None


def verify(public_pem: bytes, payload: bytes, signature_der: bytes, distinguishing_id: bytes) -> bool | None:
    """Whether ``signature_der`` (DER ``SEQUENCE {r, s}``) is SM2-SM3 over ``payload`` by the key; None when
    OpenSSL cannot judge it (no libcrypto, or the PEM is not an SM2 public key to it)."""
    lib = _lib()
    if lib is None:
        return None
    pkey, kept = _KEPT.get(public_pem), True
    if pkey is None:
        pkey, kept = _load(lib, public_pem), False
        if pkey is None:
            return None
        with _KEPT_LOCK:
            if len(_KEPT) < _KEEP and public_pem not in _KEPT:
                _KEPT[public_pem], kept = pkey, True
    md_ctx = pkey_ctx = None
    try:
        md_ctx, pkey_ctx = lib.md_ctx_new(), lib.pkey_ctx_new(None, pkey, None)
        if not md_ctx or not pkey_ctx or lib.set1_id(pkey_ctx, distinguishing_id, len(distinguishing_id)) != 1:
            return None
        lib.set_pkey_ctx(md_ctx, pkey_ctx)
        if lib.verify_init(md_ctx, None, lib.sm3(), None, pkey) != 1:
            return None
        return bool(lib.verify(md_ctx, signature_der, len(signature_der), payload, len(payload)) == 1)
    finally:
        lib.clear_errors()
        if md_ctx:
            lib.md_ctx_free(md_ctx)  # does not free the key context handed to it (set_pkey_ctx)
        if pkey_ctx:
            lib.pkey_ctx_free(pkey_ctx)
        if not kept:
            lib.pkey_free(pkey)


# Parsed public keys, kept for the process's life (decoding a PEM costs OpenSSL 3 about as much as a
# verification). The published keys are a handful; beyond the cap, a key is parsed and freed per call.
_KEEP = 64
_KEPT: dict[bytes, int] = {}
_KEPT_LOCK = threading.Lock()


def _load(lib: _LibCrypto, public_pem: bytes) -> int | None:
    """An SM2 ``EVP_PKEY`` of the PEM, or None."""
    bio = lib.bio_new_mem_buf(public_pem, len(public_pem))
    if not bio:
        return None
    pkey = lib.read_pubkey(bio, None, None, None)
    lib.bio_free(bio)
    if pkey and lib.pkey_is_a(pkey, b"SM2") != 1:
        lib.pkey_free(pkey)
        return None
    return int(pkey) if pkey else None
