"""SM2-with-SM3 signing and verification by the system's OpenSSL 3 (``libcrypto``), when it is there.

``cryptography`` has no SM2, and gmalglib (C, but without OpenSSL's precomputation) costs several times
OpenSSL's. Receipts are signed on every submission and checked on every ``POST /receipts/verify``, so
both go through OpenSSL's EVP interface when this process can load a libcrypto 3 that knows SM2:
``EVP_DigestSign``/``EVP_DigestVerify`` with SM3 and the distinguishing ID set on the key's context, as
``openssl pkeyutl -sign/-verify -digest sm3 -pkeyopt distid:…`` does (docs/receipts.md). Without one,
``available()`` is false and app/batches/signing.py uses gmalglib.

What costs is set up once: the parsed keys (``EVP_PKEY``, read-only once made, which OpenSSL lets threads
share) are kept per PEM, and each thread keeps, per key and ID, an ``EVP_MD_CTX`` initialised once with
the key, SM3 and the ID. A call re-initialises it without a key (``EVP_DigestSignInit`` with a NULL key
keeps the key's context and its ID and restarts the digest, Z included: checked once per signing
context, against a context made afresh, before it is kept) and signs or verifies in one call. Contexts are never shared between threads (the service signs in worker threads); a thread's
contexts are freed when the thread ends.
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
        self.read_private = self._fn(lib, "PEM_read_bio_PrivateKey", vp, vp, vp, vp, vp)
        self.pkey_free = self._fn(lib, "EVP_PKEY_free", None, vp)
        self.pkey_is_a = self._fn(lib, "EVP_PKEY_is_a", i, vp, cp)
        self.md_ctx_new = self._fn(lib, "EVP_MD_CTX_new", vp)
        self.md_ctx_free = self._fn(lib, "EVP_MD_CTX_free", None, vp)
        self.pkey_ctx_new = self._fn(lib, "EVP_PKEY_CTX_new_from_pkey", vp, vp, vp, vp)
        self.pkey_ctx_free = self._fn(lib, "EVP_PKEY_CTX_free", None, vp)
        self.set1_id = self._fn(lib, "EVP_PKEY_CTX_set1_id", i, vp, cp, i)
        self.set_pkey_ctx = self._fn(lib, "EVP_MD_CTX_set_pkey_ctx", None, vp, vp)
        self.sm3 = self._fn(lib, "EVP_sm3", vp)
        self.sign_init = self._fn(lib, "EVP_DigestSignInit", i, vp, vp, vp, vp, vp)
        self.sign = self._fn(lib, "EVP_DigestSign", i, vp, cp, ctypes.POINTER(sz), cp, sz)
        self.verify_init = self._fn(lib, "EVP_DigestVerifyInit", i, vp, vp, vp, vp, vp)
        self.verify = self._fn(lib, "EVP_DigestVerify", i, vp, cp, sz, cp, sz)
        self.clear_errors = self._fn(lib, "ERR_clear_error", None)
        self.md_sm3 = self.sm3()

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
    return lib if lib.md_sm3 else None


def available() -> bool:
    return _lib() is not None


_SIGN, _VERIFY = 0, 1
_MAX_SIGNATURE = 80  # DER SEQUENCE {r, s} of two 256-bit integers: at most 72 bytes


def sign(private_pem: bytes, payload: bytes, distinguishing_id: bytes) -> bytes | None:
    """The DER ``SEQUENCE {r, s}`` SM2-SM3 signature of ``payload`` by the PKCS#8 key; None when OpenSSL
    cannot make it (no libcrypto, or the PEM is not an SM2 private key to it)."""
    lib = _lib()
    if lib is None:
        return None
    ctx = _context(lib, _SIGN, private_pem, distinguishing_id)
    if ctx is None:
        return None
    md_ctx, _, (buffer, size) = ctx
    try:
        size.value = _MAX_SIGNATURE
        if lib.sign_init(md_ctx, None, lib.md_sm3, None, None) != 1:
            return None
        if lib.sign(md_ctx, buffer, ctypes.byref(size), payload, len(payload)) != 1:
            return None
        signature: bytes = buffer.raw[: size.value]
        return signature
    finally:
        lib.clear_errors()


def verify(public_pem: bytes, payload: bytes, signature_der: bytes, distinguishing_id: bytes) -> bool | None:
    """Whether ``signature_der`` (DER ``SEQUENCE {r, s}``) is SM2-SM3 over ``payload`` by the key; None when
    OpenSSL cannot judge it (no libcrypto, or the PEM is not an SM2 public key to it). OpenSSL refuses a
    signature whose DER is not the canonical encoding, or whose r or s is out of [1, n-1]."""
    lib = _lib()
    if lib is None:
        return None
    ctx = _context(lib, _VERIFY, public_pem, distinguishing_id)
    if ctx is None:
        return None
    md_ctx = ctx[0]
    try:
        if lib.verify_init(md_ctx, None, lib.md_sm3, None, None) != 1:
            return None
        return bool(lib.verify(md_ctx, signature_der, len(signature_der), payload, len(payload)) == 1)
    finally:
        lib.clear_errors()


# Parsed keys, kept for the process's life (decoding a PEM costs OpenSSL 3 about as much as a signature).
# The service's keys are a handful; beyond the cap OpenSSL is not used for a new key (gmalglib is).
_KEEP = 64
_KEPT: dict[tuple[int, bytes], int] = {}
_KEPT_LOCK = threading.Lock()


class _Contexts:
    """One thread's initialised contexts: (op, key PEM, ID) → (EVP_MD_CTX, EVP_PKEY_CTX, scratch). Held by a
    ``threading.local``, so it is dropped, and its contexts freed, when its thread ends."""

    def __init__(self, lib: _LibCrypto) -> None:
        self.lib = lib
        self.by_key: dict[tuple[int, bytes, bytes], tuple[int, int, Any]] = {}

    def __del__(self) -> None:
        for md_ctx, pkey_ctx, _ in self.by_key.values():
            self.lib.md_ctx_free(md_ctx)
            self.lib.pkey_ctx_free(pkey_ctx)
        self.by_key = {}


_THREAD = threading.local()
_CONTEXTS_PER_THREAD = 256


def _context(lib: _LibCrypto, op: int, key_pem: bytes, distinguishing_id: bytes) -> tuple[int, int, Any] | None:
    """This thread's context of ``op`` with the key and ID, initialised once; None when the PEM is not an
    SM2 key to OpenSSL (or too many keys are kept)."""
    contexts: _Contexts | None = getattr(_THREAD, "contexts", None)
    if contexts is None:
        contexts = _THREAD.contexts = _Contexts(lib)
    found = contexts.by_key.get((op, key_pem, distinguishing_id))
    if found is not None:
        return found
    pkey = _key(lib, op, key_pem)
    if pkey is None or len(contexts.by_key) >= _CONTEXTS_PER_THREAD:
        return None
    made = _new_context(lib, op, pkey, distinguishing_id)
    if made is None:
        return None
    scratch = (ctypes.create_string_buffer(_MAX_SIGNATURE), ctypes.c_size_t()) if op == _SIGN else None
    found = (*made, scratch)
    if op == _SIGN and not _signs_right(lib, found, pkey, distinguishing_id):
        lib.md_ctx_free(made[0])
        lib.pkey_ctx_free(made[1])
        return None
    contexts.by_key[(op, key_pem, distinguishing_id)] = found
    return found


def _signs_right(lib: _LibCrypto, ctx: tuple[int, int, Any], pkey: int, distinguishing_id: bytes) -> bool:
    """Whether re-initialising the kept context without its key keeps the ID and restarts the digest, as
    OpenSSL 3 does here: two signatures made that way, each checked by a context made afresh."""
    md_ctx, _, (buffer, size) = ctx
    for probe in (b"probe one", b"probe two"):
        size.value = _MAX_SIGNATURE
        if lib.sign_init(md_ctx, None, lib.md_sm3, None, None) != 1:
            return False
        if lib.sign(md_ctx, buffer, ctypes.byref(size), probe, len(probe)) != 1:
            return False
        fresh = _new_context(lib, _VERIFY, pkey, distinguishing_id)
        if fresh is None:
            return False
        try:
            if lib.verify(fresh[0], buffer.raw[: size.value], size.value, probe, len(probe)) != 1:
                return False
        finally:
            lib.md_ctx_free(fresh[0])
            lib.pkey_ctx_free(fresh[1])
            lib.clear_errors()
    return True


def _new_context(lib: _LibCrypto, op: int, pkey: int, distinguishing_id: bytes) -> tuple[int, int] | None:
    md_ctx, pkey_ctx = lib.md_ctx_new(), lib.pkey_ctx_new(None, pkey, None)
    try:
        if not md_ctx or not pkey_ctx or lib.set1_id(pkey_ctx, distinguishing_id, len(distinguishing_id)) != 1:
            raise LookupError
        # A key context handed over by set_pkey_ctx stays the caller's: _Contexts frees both.
        lib.set_pkey_ctx(md_ctx, pkey_ctx)
        init = lib.sign_init if op == _SIGN else lib.verify_init
        if init(md_ctx, None, lib.md_sm3, None, pkey) != 1:
            raise LookupError
    except LookupError:
        if md_ctx:
            lib.md_ctx_free(md_ctx)
        if pkey_ctx:
            lib.pkey_ctx_free(pkey_ctx)
        return None
    finally:
        lib.clear_errors()
    return int(md_ctx), int(pkey_ctx)


def _key(lib: _LibCrypto, op: int, key_pem: bytes) -> int | None:
    """The SM2 ``EVP_PKEY`` of the PEM (private for signing, public for verifying), kept; or None."""
    pkey = _KEPT.get((op, key_pem))
    if pkey is not None:
        return pkey
    with _KEPT_LOCK:
        pkey = _KEPT.get((op, key_pem))
        if pkey is not None or len(_KEPT) >= _KEEP:
            return pkey
        pkey = _load(lib, op, key_pem)
        if pkey is not None:
            _KEPT[(op, key_pem)] = pkey
        return pkey


def _load(lib: _LibCrypto, op: int, key_pem: bytes) -> int | None:
    bio = lib.bio_new_mem_buf(key_pem, len(key_pem))
    if not bio:
        return None
    try:
        pkey = (lib.read_private if op == _SIGN else lib.read_pubkey)(bio, None, None, None)
    finally:
        lib.bio_free(bio)
        lib.clear_errors()
    if pkey and lib.pkey_is_a(pkey, b"SM2") != 1:
        lib.pkey_free(pkey)
        return None
    return int(pkey) if pkey else None
