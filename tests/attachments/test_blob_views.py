"""A blob's bytes as views of the mapped file: the same bytes as a read, from any offset, across windows."""

import hashlib
from pathlib import Path

import pytest

from app.attachments.blobstore import VIEW_BYTES, FileSystemBlobStore, new_key


@pytest.mark.parametrize("size", [0, 1, VIEW_BYTES, 2 * VIEW_BYTES + 12345])
def test_views_give_the_bytes_a_read_gives_from_any_offset(tmp_path: Path, size: int) -> None:
    store = FileSystemBlobStore(tmp_path)
    key = new_key()
    data = (hashlib.sha256(b"x").digest() * (size // 32 + 1))[:size]
    store.path(key).parent.mkdir(exist_ok=True)
    store.path(key).write_bytes(data)
    for start in sorted({0, 1, 4095, VIEW_BYTES - 1, VIEW_BYTES, VIEW_BYTES + 7, size - 1, size}):
        if 0 <= start <= size:
            views = list(store.views(key, start))
            assert all(len(v) <= VIEW_BYTES for v in views)
            assert b"".join(views) == data[start:] == b"".join(store.read(key, start))


def test_a_missing_blob_fails_when_its_views_are_asked_for(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        FileSystemBlobStore(tmp_path).views(new_key())
