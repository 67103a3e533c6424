"""Key rotation ends a key: the retired private keys leave the keys folder, and a receipt dated after
its key's retirement, or one this service never issued, is not genuine. A receipt carries at most one
signature per published key."""

import base64
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from app.batches import receipts, signing
from app.batches.keystore import key_store
from tests.batches.test_receipt_cli import bare_env, smps, submitted_receipt


def forge(document: dict[str, Any], private_pems: dict[str, tuple[str, bytes]]) -> dict[str, Any]:
    """``document`` signed with the given private keys (kid → (alg, PEM)), as an attacker holding them would."""
    data = receipts.payload(document)
    return {
        **document,
        "signatures": [
            {
                "kid": kid,
                "alg": alg,
                "value": base64.b64encode(signing.sign(signing.load_private(alg, pem), data)).decode(),  # type: ignore[arg-type]
            }
            for kid, (alg, pem) in private_pems.items()
        ],
    }


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def verify_online(client: httpx.AsyncClient, headers: dict[str, str], document: dict[str, Any]) -> dict:
    response = await client.post("/api/v1/receipts/verify", json=document, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def verify_offline(tmp_path: Path, keys: bytes, document: dict[str, Any]) -> dict:
    (tmp_path / "keys.json").write_bytes(keys)
    (tmp_path / "receipt.json").write_bytes(orjson.dumps(document))
    done = smps("receipt", "verify", "receipt.json", "--keys", "keys.json", cwd=tmp_path, env=bare_env(tmp_path))
    result = orjson.loads(done.stdout)
    assert done.returncode == (0 if result["valid"] else 1), done.stderr
    return result


async def test_rotation_removes_the_retired_private_keys_and_their_late_signatures_fail(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    genuine = await submitted_receipt(app, client)
    keys_dir = app.state.settings.keys_dir
    old = {k.kid: (k.alg, (keys_dir / f"{k.kid}.pem").read_bytes()) for k in key_store(keys_dir).published()}
    rotated = smps("keys", "rotate", cwd=tmp_path, env={**bare_env(tmp_path), "SMPS_RECEIPT_KEYS_DIR": str(keys_dir)})
    assert rotated.returncode == 0, rotated.stderr
    # The retired private keys are gone from the folder; their public facts stay published.
    assert not any((keys_dir / f"{kid}.pem").exists() for kid in old)
    published = (await client.get("/api/v1/receipt-keys")).json()["keys"]
    assert {k["kid"] for k in published if k["retired_at"]} == set(old)
    retired_at = max(
        datetime.fromisoformat(k["retired_at"].replace("Z", "+00:00")) for k in published if k["retired_at"]
    )

    # Someone who kept a retired key signs a receipt, dated after the retirement, for a list that never was.
    fake = {**genuine, "tracking_number": "SMPS-FAKE-000000-001", "batch_id": "bat_doesnotexist"}
    late = forge({**fake, "submitted_at": stamp(retired_at + timedelta(minutes=5))}, old)
    reviewer = {"Authorization": genuine_headers(app)}
    online = await verify_online(client, reviewer, late)
    assert online == {"valid": False, "reason": "key_retired"}
    keys_json = (await client.get("/api/v1/receipt-keys")).content
    offline = verify_offline(tmp_path, keys_json, late)
    assert not offline["valid"] and offline["reason"] == "key_retired" and offline["kid"] in old

    # Backdated, it passes the dates offline (nothing else to compare with), but the service knows its receipts.
    backdated = forge({**fake, "submitted_at": stamp(retired_at - timedelta(days=1))}, old)
    assert (await verify_online(client, reviewer, backdated)) == {"valid": False, "reason": "not_issued"}
    # A genuine receipt still verifies, online and offline, its key retired since.
    assert (await verify_online(client, reviewer, genuine)) == {"valid": True, "reason": "valid"}
    assert verify_offline(tmp_path, keys_json, genuine)["valid"]


async def test_rotation_can_archive_the_retired_private_keys_outside_the_folder(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await submitted_receipt(app, client)
    keys_dir = app.state.settings.keys_dir
    old = {k.kid for k in key_store(keys_dir).published()}
    archive = tmp_path / "vault"
    env = {**bare_env(tmp_path), "SMPS_RECEIPT_KEYS_DIR": str(keys_dir)}
    inside = smps("keys", "rotate", "--archive", str(keys_dir / "old"), cwd=tmp_path, env=env)
    assert inside.returncode == 2 and "outside" in inside.stderr  # never where the service reads keys
    assert smps("keys", "rotate", "--archive", str(archive), cwd=tmp_path, env=env).returncode == 0
    assert {p.stem for p in archive.glob("*.pem")} == old
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in archive.glob("*.pem"))
    assert not any((keys_dir / f"{kid}.pem").exists() for kid in old)


async def test_signatures_are_capped_at_one_per_published_key(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    genuine = await submitted_receipt(app, client)
    headers = {"Authorization": genuine_headers(app)}
    sm2 = next(s for s in genuine["signatures"] if s["alg"] == "SM2-SM3")
    repeated = {**genuine, "signatures": [*genuine["signatures"], *([sm2] * 600)]}
    response = await client.post("/api/v1/receipts/verify", json=repeated, headers=headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert {e["pointer"] for e in problem["errors"]} == {"/signatures"}
    assert problem["errors"][0]["code"] == "too_many_signatures"
    twice = {**genuine, "signatures": [sm2, sm2]}
    response = await client.post("/api/v1/receipts/verify", json=twice, headers=headers)
    assert response.status_code == 422
    assert [(e["pointer"], e["code"]) for e in response.json()["errors"]] == [("/signatures/1", "duplicate_signature")]
    # Offline too: a repeated signature is refused before any is checked.
    keys_json = (await client.get("/api/v1/receipt-keys")).content
    assert verify_offline(tmp_path, keys_json, twice)["reason"] == "duplicate_signature"
    assert verify_offline(tmp_path, keys_json, repeated)["reason"] == "duplicate_signature"


def test_the_verify_endpoint_never_takes_the_write_gate(app: FastAPI) -> None:
    """Read-only: none of its dependencies is the writing session or the writer (app/core/deps.py)."""
    from app.core.deps import get_session, get_writer

    def routes(items: Any) -> Any:
        for r in items:
            yield r
            yield from routes(getattr(r, "routes", None) or getattr(getattr(r, "original_router", None), "routes", []))

    route = next(r for r in routes(app.routes) if getattr(r, "path", "") == "/api/v1/receipts/verify")

    def calls(dependant: Any) -> set[Any]:
        found = {dependant.call}
        for sub in dependant.dependencies:
            found |= calls(sub)
        return found

    used = calls(route.dependant)  # type: ignore[attr-defined]
    assert get_session not in used and get_writer not in used


def genuine_headers(app: FastAPI) -> str:
    from tests.factories import make_org, make_user

    return make_user(app, make_org(app), "applicant").headers["Authorization"]


async def test_production_refuses_retired_private_keys_left_behind_until_pruned(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    from app.batches.startup import receipt_key_problems

    await submitted_receipt(app, client)
    settings = app.state.settings
    keys_dir = settings.keys_dir
    old = {k.kid: (keys_dir / f"{k.kid}.pem").read_bytes() for k in key_store(keys_dir).published()}
    env = {**bare_env(tmp_path), "SMPS_RECEIPT_KEYS_DIR": str(keys_dir)}
    assert smps("keys", "rotate", cwd=tmp_path, env=env).returncode == 0
    for kid, pem in old.items():  # as an older version's rotation left them
        (keys_dir / f"{kid}.pem").write_bytes(pem)
        (keys_dir / f"{kid}.pem").chmod(0o600)
    assert any("retired receipt keys remain" in p for p in receipt_key_problems(settings))
    pruned = smps("keys", "prune", cwd=tmp_path, env=env)
    assert pruned.returncode == 0 and pruned.stdout.count("deleted") == len(old)
    assert not any("retired receipt keys remain" in p for p in receipt_key_problems(settings))
