"""Receipt signatures interoperate with stock OpenSSL 3, both ways, for Ed25519 and SM2/SM3; the commands
of docs/receipts.md verify a real receipt and catch a changed byte."""

import base64
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import orjson
import pytest
from asn1crypto import core, pem
from fastapi import FastAPI

from app.batches import receipts, signing
from app.batches.keystore import FileKeyStore
from tests.batches.helpers import act, cast_for, open_batch, put_items, recommended

ROOT = Path(__file__).resolve().parents[2]
# Not skipped when missing: .ci/run installs openssl, and the interop is checked on every run.
OPENSSL = shutil.which("openssl") or "openssl"
DISTID = "distid:1234567812345678"
PAYLOAD = "信息公开 payload — 第九批".encode()


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def _digest_args(alg: str) -> list[str]:
    return ["-digest", "sm3", "-pkeyopt", DISTID] if alg == "SM2-SM3" else []


@pytest.mark.parametrize("alg", signing.ALGORITHMS)
def test_smps_signs_and_openssl_verifies(alg: signing.Alg, tmp_path: Path) -> None:
    key = signing.generate(alg)
    (tmp_path / "key.pem").write_bytes(key.pem)
    (tmp_path / "pub.pem").write_bytes(key.public_pem)
    (tmp_path / "payload").write_bytes(PAYLOAD)
    (tmp_path / "sig").write_bytes(signing.sign(key, PAYLOAD))
    # OpenSSL reads both files as keys of the algorithm, and derives the same public key.
    derived = openssl("pkey", "-in", "key.pem", "-pubout", cwd=tmp_path)
    assert derived.returncode == 0 and derived.stdout.encode() == key.public_pem
    verify = ["pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "payload", "-sigfile", "sig"]
    ok = openssl(*verify, *_digest_args(alg), cwd=tmp_path)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout
    (tmp_path / "payload").write_bytes(PAYLOAD[:-1] + b"!")
    assert openssl(*verify, *_digest_args(alg), cwd=tmp_path).returncode != 0


@pytest.mark.parametrize("alg", signing.ALGORITHMS)
def test_openssl_signs_and_smps_verifies(alg: signing.Alg, tmp_path: Path) -> None:
    made = openssl("genpkey", "-algorithm", "SM2" if alg == "SM2-SM3" else "ED25519", "-out", "key.pem", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert openssl("pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem", cwd=tmp_path).returncode == 0
    (tmp_path / "payload").write_bytes(PAYLOAD)
    signed = openssl(
        "pkeyutl",
        "-sign",
        "-inkey",
        "key.pem",
        "-rawin",
        "-in",
        "payload",
        "-out",
        "sig",
        *_digest_args(alg),
        cwd=tmp_path,
    )
    assert signed.returncode == 0, signed.stderr
    public = (tmp_path / "pub.pem").read_bytes()
    sig = (tmp_path / "sig").read_bytes()
    assert signing.verify(alg, public, PAYLOAD, sig)
    assert not signing.verify(alg, public, PAYLOAD + b" ", sig)
    # smps loads OpenSSL's private key, derives the same public key and signs what OpenSSL accepts.
    key = signing.load_private(alg, (tmp_path / "key.pem").read_bytes())
    assert key.public_pem == public
    assert signing.verify(alg, public, PAYLOAD, signing.sign(key, PAYLOAD))


def test_sm2_uses_the_default_id_der_signatures_and_the_sm2_curve(tmp_path: Path) -> None:
    key = signing.generate("SM2-SM3")
    (tmp_path / "pub.pem").write_bytes(key.public_pem)
    (tmp_path / "payload").write_bytes(PAYLOAD)
    (tmp_path / "sig").write_bytes(signing.sign(key, PAYLOAD))
    verify = [
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        "pub.pem",
        "-rawin",
        "-in",
        "payload",
        "-sigfile",
        "sig",
        "-digest",
        "sm3",
    ]
    assert openssl(*verify, "-pkeyopt", DISTID, cwd=tmp_path).returncode == 0
    # Z is computed over the ID: another ID (or OpenSSL 3.0's empty default) does not verify.
    assert openssl(*verify, "-pkeyopt", "distid:8765432187654321", cwd=tmp_path).returncode != 0
    assert openssl(*verify, cwd=tmp_path).returncode != 0
    der = openssl("asn1parse", "-inform", "DER", "-in", "sig", cwd=tmp_path).stdout
    assert re.findall(r"(SEQUENCE|INTEGER)", der) == ["SEQUENCE", "INTEGER", "INTEGER"]
    spki = openssl("asn1parse", "-in", "pub.pem", cwd=tmp_path).stdout
    assert "id-ecPublicKey" in spki and ":sm2" in spki
    oid = core.ObjectIdentifier("1.2.156.10197.1.301").dump()
    assert oid in pem.unarmor(key.public_pem)[2]
    text = openssl("pkey", "-pubin", "-in", "pub.pem", "-noout", "-text", cwd=tmp_path).stdout
    assert "SM2" in text


def test_private_key_files_are_owner_only(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys")
    made = store.generate()
    assert sorted(k.alg for k in made) == ["Ed25519", "SM2-SM3"]
    for k in made:
        assert (tmp_path / "keys" / f"{k.kid}.pem").stat().st_mode & 0o777 == 0o600
        assert "PRIVATE" not in (tmp_path / "keys" / f"{k.kid}.json").read_text()
    assert store.exposed_private_files() == []


def _doc_commands() -> list[str]:
    text = (ROOT / "docs" / "receipts.md").read_text(encoding="utf-8")
    step_by_step = text.split("## Step by step", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", step_by_step, flags=re.S)


async def test_the_documented_commands_verify_a_real_receipt(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    cast = await cast_for(app, client)
    flow = await recommended(client, cast, "济南市历下区“一网通办”政务服务标准化试点")
    batch = await open_batch(client, cast)
    r = await put_items(client, batch, cast.reviewer, [flow.id], batch.headers["etag"])
    assert (await act(client, batch.json()["id"], cast.reviewer, r.headers["etag"], "submit")).status_code == 200
    receipt = await client.get(f"/api/v1/batches/{batch.json()['id']}/receipt", headers=cast.reviewer.headers)
    keys = await client.get("/api/v1/receipt-keys")
    (tmp_path / "receipt.json").write_bytes(receipt.content)
    (tmp_path / "keys.json").write_bytes(keys.content)
    commands = _doc_commands()
    assert len(commands) == 5

    def run(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=60)

    outputs = [run(c) for c in commands]
    assert all(o.returncode == 0 for o in outputs), [o.stderr for o in outputs]
    document = receipt.json()
    # The bytes rebuilt with the standard library are RFC 8785's, and the printed digest is theirs.
    assert (tmp_path / "payload.json").read_bytes() == receipts.payload(document)
    assert outputs[1].stdout.strip().endswith(receipts.digest(document))
    assert {line.split()[1] for line in outputs[2].stdout.splitlines()} == {s["kid"] for s in document["signatures"]}
    assert all("Signature Verified Successfully" in o.stdout for o in outputs[3:])

    # One changed byte (a rank) and both signatures fail.
    changed = receipt.content.replace(b'"rank":1', b'"rank":2', 1)
    assert changed != receipt.content
    (tmp_path / "receipt.json").write_bytes(changed)
    again = [run(c) for c in commands]
    assert again[0].returncode == 0 and all(o.returncode != 0 for o in again[3:])
    assert orjson.loads(changed)["items"][0]["rank"] == 2
    assert base64.b64decode(document["signatures"][0]["value"])
