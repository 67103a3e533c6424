"""`SMPS_ENVIRONMENT=production` refuses to start with development keys or defaults, one line per reason."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.batches.keystore import FileKeyStore
from app.core.settings import Settings, legacy_key
from app.main import PRODUCTION_CHECKS
from app.web import production as startup
from tests.conftest import ROOT_DIR


def start(command: str, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": str(cwd), "PYTHONPATH": str(ROOT_DIR)}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", command, *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_production_without_keys_exits_2_with_the_reasons(command: str, tmp_path: Path) -> None:
    r = start(
        command,
        tmp_path,
        SMPS_ENVIRONMENT="production",
        SMPS_WEBHOOK_ALLOWED_HOSTS="127.0.0.1,hooks.example.org",
        SMPS_RECEIPT_KEYS_DIR=str(tmp_path / "keys"),
        SMPS_DATABASE_URL="sqlite:///./var/smps.db",
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 3 and all(
        line.startswith(f"smps {command}: refusing to start in production: ") for line in lines
    )
    assert "no active receipt signing key for Ed25519, SM2-SM3" in lines[0]
    assert "SQLite on a relative path" in lines[1]
    assert "127.0.0.1" in lines[2] and "hooks.example.org" not in lines[2]
    assert not (tmp_path / "keys").exists() and not (tmp_path / "var").exists()  # nothing made, nothing migrated


def problems(settings: Settings) -> list[str]:
    """What `smps serve` and `smps worker` check: the shared settings, then the receipt keys' own."""
    return startup.problems(settings, PRODUCTION_CHECKS)


def production(tmp_path: Path, **over: object) -> Settings:
    values: dict[str, object] = {
        "environment": "production",
        "database_url": f"sqlite:///{tmp_path}/smps.db",
        "receipt_keys_dir": tmp_path / "keys",
        "storage_dir": tmp_path / "files",
    }
    return Settings(**{**values, **over})  # type: ignore[arg-type]


def test_production_starts_with_real_keys_and_safe_settings(tmp_path: Path) -> None:
    FileKeyStore(tmp_path / "keys").generate()
    assert problems(production(tmp_path)) == []
    assert problems(production(tmp_path, database_url="postgresql://smps@db/smps")) == []
    assert problems(production(tmp_path, environment="development", database_url="sqlite:///./x.db")) == []


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"webhook_allowed_hosts": "localhost"}, "SMPS_WEBHOOK_ALLOWED_HOSTS"),
        ({"webhook_allowed_hosts": "10.0.0.0/8"}, "SMPS_WEBHOOK_ALLOWED_HOSTS"),
        ({"webhook_allowed_hosts": "[::1]"}, "SMPS_WEBHOOK_ALLOWED_HOSTS"),
        ({"webhook_allowed_hosts": "169.254.169.254"}, "SMPS_WEBHOOK_ALLOWED_HOSTS"),
        ({"database_url": "sqlite://"}, "in memory"),
        ({"database_url": "sqlite:///smps.db"}, "relative path"),
        ({"receipt_signing_key": "short"}, "SMPS_RECEIPT_SIGNING_KEY"),
    ],
)
def test_each_weak_setting_is_named(tmp_path: Path, over: dict[str, object], reason: str) -> None:
    FileKeyStore(tmp_path / "keys").generate()
    found = problems(production(tmp_path, **over))
    assert len(found) == 1 and reason in found[0]


def test_development_keys_and_readable_private_keys_are_refused(tmp_path: Path) -> None:
    made = FileKeyStore(tmp_path / "keys").generate(development=True)
    found = problems(production(tmp_path))
    assert found == ["the receipt signing keys are development keys: run `smps keys rotate`"]
    (tmp_path / "keys" / f"{made[0].kid}.pem").chmod(0o644)
    assert any("readable by others" in line for line in problems(production(tmp_path)))


def test_production_never_accepts_the_development_hmac_key(tmp_path: Path) -> None:
    assert legacy_key(production(tmp_path)) is None
    assert legacy_key(production(tmp_path, environment="development")) == Settings().receipt_signing_key
    assert legacy_key(production(tmp_path, receipt_signing_key="k" * 40)) == "k" * 40


def test_development_makes_keys_on_first_start(tmp_path: Path) -> None:
    from app.main import migrate

    database_url = f"sqlite:///{tmp_path}/smps.db"
    migrate(Settings(database_url=database_url, storage_dir=tmp_path / "files"))
    r = start(
        "worker", tmp_path, "--once", SMPS_RECEIPT_KEYS_DIR=str(tmp_path / "keys"), SMPS_DATABASE_URL=database_url
    )
    assert r.returncode == 0, r.stderr
    keys = FileKeyStore(tmp_path / "keys").published()
    assert sorted(k.alg for k in keys) == ["Ed25519", "SM2-SM3"] and all(k.development for k in keys)
    assert all(k.kid in r.stderr for k in keys)


def test_mail_in_production_needs_the_portal_address_and_never_sends_a_password_in_clear(tmp_path: Path) -> None:
    FileKeyStore(tmp_path / "keys").generate()
    base = {"public_base_url": "https://smps.example.cn"}
    safe = production(tmp_path, smtp_url="smtps://user:pw@mail.example.cn", **base)
    assert problems(safe) == [] and startup.warnings(safe) == []
    assert problems(production(tmp_path, smtp_url="smtp://user:pw@mail.example.cn?starttls=true", **base)) == []
    [clear] = problems(production(tmp_path, smtp_url="smtp://mail.example.cn", smtp_username="u", **base))
    assert "password in clear" in clear
    [linkless] = problems(production(tmp_path, smtp_url="smtps://mail.example.cn"))
    assert "SMPS_PUBLIC_BASE_URL" in linkless
    # Plain SMTP without a password: allowed, with a warning unless the relay is on this host.
    plain = production(tmp_path, smtp_url="smtp://mail.example.cn", **base)
    assert problems(plain) == [] and "without TLS" in startup.warnings(plain)[0]
    assert startup.warnings(production(tmp_path, smtp_url="smtp://127.0.0.1:25", **base)) == []
