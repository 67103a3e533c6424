"""Where the receipt signing keys live: PEM files under ``SMPS_RECEIPT_KEYS_DIR``, never in the database.

Each key is two files: ``<kid>.pem`` (the PKCS#8 private key, mode 0600) and ``<kid>.json`` (its public
facts: algorithm, created, retired, whether it is a development key). Every change replaces a ``.json``
file (after its ``.pem``); the store re-reads them when their names or mtimes change, so a key rotated by
``smps keys rotate`` is picked up by running servers and workers without a restart.

``KeyStore`` is the small interface the rest of the service uses; another backend (a KMS, a bucket) can
implement it.
"""

import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import orjson

from app.batches import signing
from app.batches.signing import ALGORITHMS, Alg, PrivateKey


@dataclass(frozen=True)
class KeyInfo:
    """What is published of a key."""

    kid: str
    alg: Alg
    public_key_pem: str
    created_at: str
    retired_at: str | None
    development: bool = False

    def public(self) -> dict[str, str | None]:
        return {
            "kid": self.kid,
            "alg": self.alg,
            "public_key_pem": self.public_key_pem,
            "created_at": self.created_at,
            "retired_at": self.retired_at,
        }


@dataclass(frozen=True)
class Signer:
    info: KeyInfo
    key: PrivateKey


class KeyStore(Protocol):
    def published(self) -> list[KeyInfo]:
        """Every key, active and retired, oldest first."""
        ...

    def signers(self) -> list[Signer]:
        """The active keys, one per algorithm."""
        ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class FileKeyStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[str, int], ...] | None = None
        self._keys: list[KeyInfo] = []

    def _load(self) -> list[KeyInfo]:
        # The names and mtimes of the key files: a few stat calls per signing, and a change made by another
        # process (`smps keys rotate`) is seen at once, even within one tick of the directory's mtime.
        try:
            with os.scandir(self.directory) as entries:
                stamp = tuple(sorted((e.name, e.stat().st_mtime_ns) for e in entries if e.name.endswith(".json")))
        except FileNotFoundError:
            return []
        with self._lock:
            if stamp != self._stamp:
                found = [KeyInfo(**orjson.loads((self.directory / name).read_bytes())) for name, _ in stamp]
                self._keys = sorted(found, key=lambda k: (k.created_at, k.kid))
                self._stamp = stamp
            return list(self._keys)

    def published(self) -> list[KeyInfo]:
        return self._load()

    def signers(self) -> list[Signer]:
        # The newest active key per algorithm (during a rotation the old one is active a moment longer).
        newest = {k.alg: k for k in self._load() if k.retired_at is None}
        active = [newest[alg] for alg in ALGORITHMS if alg in newest]
        return [Signer(k, signing.load_private(k.alg, (self.directory / f"{k.kid}.pem").read_bytes())) for k in active]

    # Changes, made by `smps keys` (and in development on first start).

    def _write(self, path: Path, data: bytes, mode: int) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)
        os.replace(tmp, path)

    def _add(self, alg: Alg, development: bool) -> KeyInfo:
        key = signing.generate(alg)
        info = KeyInfo(
            kid=signing.kid_for(alg, key.public_pem),
            alg=alg,
            public_key_pem=key.public_pem.decode(),
            created_at=_now(),
            retired_at=None,
            development=development,
        )
        self._write(self.directory / f"{info.kid}.pem", key.pem, 0o600)
        self._write(self.directory / f"{info.kid}.json", orjson.dumps(info.__dict__, option=orjson.OPT_INDENT_2), 0o644)
        return info

    def generate(self, development: bool = False) -> list[KeyInfo]:
        """A key of each algorithm that has no active key yet."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        have = {k.alg for k in self._load() if k.retired_at is None}
        return [self._add(alg, development) for alg in ALGORITHMS if alg not in have]

    def rotate(self, archive: Path | None = None) -> list[KeyInfo]:
        """New active keys of both algorithms; the old ones are retired (still published, no longer used)
        and their private keys leave the folder: deleted, or moved to ``archive`` (outside it)."""
        if archive is not None and archive.resolve().is_relative_to(self.directory.resolve()):
            raise ValueError(f"the archive must be outside the keys folder {self.directory}")
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        old = [k for k in self._load() if k.retired_at is None]
        new = [self._add(alg, development=False) for alg in ALGORITHMS]
        when = _now()
        for k in old:
            retired = KeyInfo(**{**k.__dict__, "retired_at": when})
            self._write(
                self.directory / f"{k.kid}.json", orjson.dumps(retired.__dict__, option=orjson.OPT_INDENT_2), 0o644
            )
        self.remove_retired_private_keys(archive)
        return new

    def retired_private_files(self) -> list[Path]:
        """Private key files of retired keys still in the folder (left by an earlier version's rotation)."""
        retired = {k.kid for k in self._load() if k.retired_at is not None}
        return sorted(p for p in self.directory.glob("*.pem") if p.stem in retired)

    def remove_retired_private_keys(self, archive: Path | None = None) -> list[Path]:
        """Delete the retired keys' private files, or move them to ``archive`` (made 0700, files 0600)."""
        files = self.retired_private_files()
        if archive is not None and files:
            archive.mkdir(parents=True, exist_ok=True, mode=0o700)
        for path in files:
            if archive is None:
                path.unlink()
            else:
                self._write(archive / path.name, path.read_bytes(), 0o600)
                path.unlink()
        return files

    def exposed_private_files(self) -> list[Path]:
        """Private key files that others than the owner may read."""
        return [p for p in self.directory.glob("*.pem") if p.stat().st_mode & 0o077]


_stores: dict[Path, FileKeyStore] = {}
_stores_lock = threading.Lock()


def key_store(directory: Path) -> FileKeyStore:
    """One store per directory and process, so its cache is shared by requests and the worker."""
    path = directory.resolve()
    with _stores_lock:
        if path not in _stores:
            _stores[path] = FileKeyStore(path)
        return _stores[path]


def signers_for(directory: Path, development: bool) -> list[Signer]:
    """The active signers; in development the keys are made on first use (production refuses to start
    without them, see app/batches/startup.py)."""
    store = key_store(directory)
    signers = store.signers()
    if development and {s.info.alg for s in signers} != set(ALGORITHMS):
        store.generate(development=True)
        signers = store.signers()
    return signers
