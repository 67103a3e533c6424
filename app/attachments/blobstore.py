"""Where attachment files live: a directory (default) or an S3-compatible bucket.

Uploads are always written first to a temporary file under ``<storage_dir>/tmp`` (it is hashed and
its type checked there); ``put`` then moves it into the store under a generated key: for the
filesystem an fsync and an atomic rename, for S3 a (multipart) upload. Only after that does the
database row commit, so a crash leaves either no row or a row whose file exists; what a crash
leaves behind without a row is removed by the sweep (``app.attachments.sweep``).
"""

import mmap
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from fastapi import FastAPI

from app.core.settings import Settings

CHUNK_BYTES = 1024 * 1024
VIEW_BYTES = 4 * 1024 * 1024  # a view copies nothing: larger pieces, fewer trips through the server
TMP_DIR = "tmp"
BLOB_DIR = "blobs"


def mapped_views(path: str | Path, start: int = 0) -> Iterator[memoryview]:
    """The bytes of a file from ``start`` to its end as views of it mapped into memory, a window of
    VIEW_BYTES at a time: nothing is copied until the socket takes them. Each
    view keeps its window mapped; the window goes when the view does. Blobs and stored forms are never
    rewritten in place (``put`` renames a new file), so a mapped file does not shrink under its views."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # opened now: a missing file fails before a response starts
    return _windows(fd, start)


def _windows(fd: int, start: int) -> Iterator[memoryview]:
    # Pages are not populated up front: the socket's copy faults them in (64 KiB at a time), so a window
    # waiting its turn holds no memory. Populated in the worker thread, they made no download faster
    # and held each batch's pages (+20–30 MiB of RSS per package download).
    flags = mmap.MAP_SHARED
    try:
        size = os.fstat(fd).st_size
        for window in range(start - start % VIEW_BYTES, size, VIEW_BYTES):
            length = min(VIEW_BYTES, size - window)
            mapped = mmap.mmap(fd, length, flags=flags, prot=mmap.PROT_READ, offset=window)
            yield memoryview(mapped)[max(start - window, 0) :]
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class StoredBlob:
    key: str
    size: int
    modified_at: datetime


def new_key() -> str:
    """A generated storage key: nothing the client sent is part of it."""
    return secrets.token_hex(16)


def _valid_key(key: str) -> bool:
    return len(key) == 32 and all(c in "0123456789abcdef" for c in key)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore(Protocol):
    temp_dir: Path

    def put(self, temp_path: Path, key: str) -> None:
        """Move a complete, fsynced temporary file into the store under ``key`` (durably)."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``start``..``end`` (inclusive; None: to the end) of a blob, in chunks."""

    def delete(self, key: str) -> None:
        """Remove a blob; no error if it is gone."""

    def exists(self, key: str) -> bool: ...

    def list(self) -> Iterator[StoredBlob]:
        """Every blob in the store."""

    def check(self) -> None:
        """Raise unless the store is reachable and writable."""


class FileSystemBlobStore:
    """Blobs under ``<storage_dir>/blobs/<k[:2]>/<key>``; never a directory the API serves."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.temp_dir = root / TMP_DIR
        self.blob_dir = root / BLOB_DIR
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        self.blob_dir.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        if not _valid_key(key):
            raise ValueError("malformed storage key")
        return self.blob_dir / key[:2] / key

    def put(self, temp_path: Path, key: str) -> None:
        target = self.path(key)
        target.parent.mkdir(exist_ok=True)
        os.replace(temp_path, target)
        _fsync_dir(target.parent)

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        fh = self.path(key).open("rb")  # opened now: a missing file fails before a response starts
        fh.seek(start)
        return self._chunks(fh, None if end is None else end - start + 1)

    def views(self, key: str, start: int = 0) -> Iterator[memoryview]:
        """The bytes from ``start`` to the end of a blob as views of the file mapped into memory (see
        :func:`mapped_views`)."""
        return mapped_views(self.path(key), start)

    @staticmethod
    def _chunks(fh: BinaryIO, remaining: int | None) -> Iterator[bytes]:
        with fh:
            while remaining is None or remaining > 0:
                chunk = fh.read(CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def list(self) -> Iterator[StoredBlob]:
        for shard in sorted(self.blob_dir.iterdir()):
            if not shard.is_dir():
                continue
            for entry in os.scandir(shard):
                if entry.is_file() and _valid_key(entry.name):
                    stat = entry.stat()
                    yield StoredBlob(entry.name, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def check(self) -> None:
        probe = self.temp_dir / f".probe-{secrets.token_hex(4)}"
        probe.write_bytes(b"ok")
        probe.unlink()


class S3BlobStore:
    """Blobs as objects ``<prefix><key>`` in an S3-compatible bucket (boto3)."""

    def __init__(self, settings: Settings) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        if not settings.s3_bucket:
            raise ValueError("SMPS_S3_BUCKET is required when SMPS_BLOB_BACKEND=s3")
        secret = settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"}),
        )
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix
        # Multipart above 16 MiB, a few parts in flight: memory stays bounded for any file size.
        self.transfer = TransferConfig(
            multipart_threshold=16 * 1024 * 1024, multipart_chunksize=16 * 1024 * 1024, max_concurrency=4
        )
        self.temp_dir = settings.storage_dir / TMP_DIR
        self.temp_dir.mkdir(parents=True, exist_ok=True)

    def _name(self, key: str) -> str:
        if not _valid_key(key):
            raise ValueError("malformed storage key")
        return self.prefix + key

    def put(self, temp_path: Path, key: str) -> None:
        # S3 acknowledges a PUT (or a completed multipart upload) only once the object is durable.
        self.client.upload_file(str(temp_path), self.bucket, self._name(key), Config=self.transfer)
        temp_path.unlink(missing_ok=True)

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        extra = {"Range": f"bytes={start}-{'' if end is None else end}"} if start or end is not None else {}
        body = self.client.get_object(Bucket=self.bucket, Key=self._name(key), **extra)["Body"]
        return self._chunks(body)

    @staticmethod
    def _chunks(body: Any) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def list(self) -> Iterator[StoredBlob]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"][len(self.prefix) :]
                if _valid_key(key):
                    yield StoredBlob(key, obj["Size"], obj["LastModified"].astimezone(UTC))

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)


def make_blob_store(settings: Settings) -> BlobStore:
    if settings.blob_backend == "s3":
        return S3BlobStore(settings)
    return FileSystemBlobStore(settings.storage_dir)


def blob_store_of(app: FastAPI) -> BlobStore:
    """The app's blob store, made on first use from the app's settings."""
    store = getattr(app.state, "blob_store", None)
    if store is None:
        store = make_blob_store(app.state.settings)
        app.state.blob_store = store
    return store
