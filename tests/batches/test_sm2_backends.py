"""SM2-SM3 verification: OpenSSL's (when the system has libcrypto 3) and gmalglib's agree on every verdict."""

from app.batches import signing, sm2_openssl

PAYLOAD = b'{"tracking_number":"SMPS-TEST-000000-001"}'


def gmalglib_verdict(public_pem: bytes, payload: bytes, signature: bytes) -> bool:
    from asn1crypto import algos

    parsed = algos.DSASignature.load(signature)
    r, s = parsed["r"].native, parsed["s"].native
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return bool(signing._sm2(None, signing._sm2_point(public_pem)).verify(payload, raw))


def test_openssl_is_used_here_and_agrees_with_gmalglib() -> None:
    assert sm2_openssl.available(), "libcrypto 3 with SM2 is part of the machine (Debian's libssl3)"
    key = signing.generate("SM2-SM3")
    other = signing.generate("SM2-SM3")
    good = signing.sign(key, PAYLOAD)
    cases = [
        (key.public_pem, PAYLOAD, good, True),
        (key.public_pem, PAYLOAD + b" ", good, False),
        (other.public_pem, PAYLOAD, good, False),
        (key.public_pem, PAYLOAD, signing.sign(other, PAYLOAD), False),
    ]
    for public_pem, payload, signature, expected in cases:
        assert sm2_openssl.verify(public_pem, payload, signature, signing.SM2_DEFAULT_ID) is expected
        assert gmalglib_verdict(public_pem, payload, signature) is expected
        assert signing.verify("SM2-SM3", public_pem, payload, signature) is expected
    # Another distinguishing ID is another signature.
    assert sm2_openssl.verify(key.public_pem, PAYLOAD, good, b"another-id") is False


def test_openssl_declines_what_is_not_an_sm2_key() -> None:
    ed = signing.generate("Ed25519")
    assert sm2_openssl.verify(ed.public_pem, PAYLOAD, b"0", signing.SM2_DEFAULT_ID) is None
    assert sm2_openssl.verify(b"not a key", PAYLOAD, b"0", signing.SM2_DEFAULT_ID) is None


def test_openssl_signatures_verify_with_gmalglib_across_threads() -> None:
    # Each thread keeps its own initialised contexts per key; signatures made concurrently by several
    # threads with two keys are each good for their own payload, by OpenSSL's and gmalglib's verdicts.
    from concurrent.futures import ThreadPoolExecutor

    keys = [signing.generate("SM2-SM3"), signing.generate("SM2-SM3")]

    def make(n: int) -> tuple[signing.PrivateKey, bytes, bytes]:
        key, payload = keys[n % 2], PAYLOAD + b"%d" % n
        made = sm2_openssl.sign(key.pem, payload, signing.SM2_DEFAULT_ID)
        assert made is not None
        return key, payload, made

    with ThreadPoolExecutor(4) as pool:
        signed = list(pool.map(make, range(40)))
    for key, payload, signature in signed:
        assert gmalglib_verdict(key.public_pem, payload, signature)
        assert sm2_openssl.verify(key.public_pem, payload, signature, signing.SM2_DEFAULT_ID) is True
        assert not gmalglib_verdict(keys[0].public_pem if key is keys[1] else keys[1].public_pem, payload, signature)


def test_openssl_declines_to_sign_with_what_is_not_an_sm2_key() -> None:
    ed = signing.generate("Ed25519")
    assert sm2_openssl.sign(ed.pem, PAYLOAD, signing.SM2_DEFAULT_ID) is None
    assert sm2_openssl.sign(b"not a key", PAYLOAD, signing.SM2_DEFAULT_ID) is None
