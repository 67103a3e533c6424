"""`smps receipt verify` on a machine with only the receipt and the keys; `smps keys rotate` while serving."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
from fastapi import FastAPI

from app.batches import receipts
from tests.batches.helpers import act, cast_for, open_batch, put_items, recommended
from tests.conftest import ROOT_DIR
from tests.races.live import free_port


def bare_env(home: Path) -> dict[str, str]:
    """No database to reach, no secret, no keys directory: only what Python needs to run."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "PYTHONPATH": str(ROOT_DIR),
        "SMPS_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nothing",
        "SMPS_RECEIPT_KEYS_DIR": str(home / "none"),
    }


def smps(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


async def submitted_receipt(app: FastAPI, client: httpx.AsyncClient, province: str = "370000") -> dict:
    cast = await cast_for(app, client, province=province)
    flow = await recommended(client, cast, f"{province}政务服务标准化试点")
    batch = await open_batch(client, cast)
    r = await put_items(client, batch, cast.reviewer, [flow.id], batch.headers["etag"])
    assert (await act(client, batch.json()["id"], cast.reviewer, r.headers["etag"], "submit")).status_code == 200
    return (await client.get(f"/api/v1/batches/{batch.json()['id']}/receipt", headers=cast.reviewer.headers)).json()


async def test_verify_offline_with_the_receipt_and_the_keys_only(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    receipt = await submitted_receipt(app, client)
    keys = await client.get("/api/v1/receipt-keys")
    work = tmp_path / "auditor"
    (work / "api" / "v1").mkdir(parents=True)
    (work / "receipt.json").write_bytes(orjson.dumps(receipt))
    (work / "keys.json").write_bytes(keys.content)
    (work / "api" / "v1" / "receipt-keys").write_bytes(keys.content)
    env = bare_env(work)

    ok = smps("receipt", "verify", "receipt.json", "--keys", "keys.json", cwd=work, env=env)
    assert ok.returncode == 0, ok.stderr
    assert orjson.loads(ok.stdout)["reason"] == "valid"

    changed = {**receipt, "submitted_at": receipt["submitted_at"].replace("T0", "T1", 1)}
    assert changed != receipt
    (work / "changed.json").write_bytes(orjson.dumps(changed))
    ko = smps("receipt", "verify", "changed.json", "--keys", "keys.json", cwd=work, env=env)
    result = orjson.loads(ko.stdout)
    assert ko.returncode == 1 and result["reason"] == "signature_mismatch"
    assert result["kid"] == receipt["signatures"][0]["kid"]

    stranger = {"keys": [k for k in keys.json()["keys"] if k["alg"] == "Ed25519"]}
    (work / "ed25519-only.json").write_bytes(orjson.dumps(stranger))
    unknown = smps("receipt", "verify", "receipt.json", "--keys", "ed25519-only.json", cwd=work, env=env)
    assert unknown.returncode == 1 and orjson.loads(unknown.stdout)["reason"] == "unknown_key"

    (work / "garbage.json").write_text("not json")
    assert smps("receipt", "verify", "garbage.json", "--keys", "keys.json", cwd=work, env=env).returncode == 1

    # Usage: the keys are required, from one source; a keys file must hold keys.
    for args in ((), ("--keys", "keys.json", "--url", "http://127.0.0.1:9")):
        usage = smps("receipt", "verify", "receipt.json", *args, cwd=work, env=env)
        assert usage.returncode == 2 and "--keys" in usage.stderr
    assert smps("receipt", "verify", "receipt.json", "--keys", "garbage.json", cwd=work, env=env).returncode == 2

    # --url fetches the published keys over HTTP (a static file server stands in for the service).
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/keys.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        by_url = smps("receipt", "verify", "receipt.json", "--url", f"http://127.0.0.1:{port}", cwd=work, env=env)
        assert by_url.returncode == 0, by_url.stdout + by_url.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)


async def test_rotation_keeps_old_receipts_valid_and_signs_new_ones_with_the_new_key(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    first = await submitted_receipt(app, client)
    old_kids = {s["kid"] for s in first["signatures"]}
    keys_dir = app.state.settings.keys_dir
    env = {**bare_env(tmp_path), "SMPS_RECEIPT_KEYS_DIR": str(keys_dir)}
    rotated = smps("keys", "rotate", cwd=tmp_path, env=env)
    assert rotated.returncode == 0, rotated.stderr
    new_kids = {line.split("\t")[0] for line in rotated.stdout.splitlines() if line.endswith("\tactive")}
    assert len(new_kids) == 2 and not new_kids & old_kids

    # The running service picks the new keys up without a restart.
    second = await submitted_receipt(app, client, province="320000")
    assert {s["kid"] for s in second["signatures"]} == new_kids
    published = (await client.get("/api/v1/receipt-keys")).json()["keys"]
    assert {k["kid"] for k in published if k["retired_at"]} == old_kids
    assert receipts.verify(first, published) == (True, "valid")
    assert receipts.verify(second, published) == (True, "valid")
    listed = smps("keys", "list", cwd=tmp_path, env=env).stdout
    assert sum("\tactive" in line for line in listed.splitlines()) == 2 and listed.count("\n") == 4
    # No private key in what is published.
    assert "PRIVATE" not in str(published)
