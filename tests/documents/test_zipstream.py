"""The streaming ZIP writer: what zipfile reads, any byte range of it, ZIP64, and a bounded buffer."""

import hashlib
import io
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from app.documents.zipstream import CHUNK, Member, digests_of, stream_zip

WHEN = datetime(2022, 11, 1, 10, 0, 0)
MIB = 1024 * 1024


def _blob(size: int, seed: int) -> Iterator[bytes]:
    """``size`` bytes made a MiB at a time (never held whole)."""
    block = hashlib.sha256(bytes([seed])).digest() * (MIB // 32)
    for done in range(0, size, MIB):
        yield block[: min(MIB, size - done)]


def _reader(size: int, seed: int) -> Callable[[int], Iterator[bytes]]:
    def read(offset: int) -> Iterator[bytes]:
        skipped = 0
        for chunk in _blob(size, seed):
            if skipped + len(chunk) <= offset:
                skipped += len(chunk)
                continue
            yield chunk[max(offset - skipped, 0) :]
            skipped += len(chunk)

    return read


def _members(known: bool = False) -> list[Member]:
    sizes = [0, 5, 3 * MIB + 17, 2 * MIB]
    out = [Member("bag/bagit.txt", produce=lambda: b"BagIt-Version: 1.0\n")]
    for i, size in enumerate(sizes):
        data = b"".join(_blob(size, i))
        out.append(
            Member(
                f"bag/data/文件{i}.bin",
                size=size,
                digests=digests_of(data) if known else None,
                read=_reader(size, i),
            )
        )
    out.append(Member("bag/manifest.txt", produce=lambda: b"end\n"))
    return out


def _whole(**kwargs: object) -> bytes:
    return b"".join(stream_zip(_members(), WHEN, **kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize("force_zip64", [False, True])
def test_zipfile_reads_every_member_with_its_crc_and_the_fixed_time(force_zip64: bool) -> None:
    data = _whole(force_zip64=force_zip64)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        infos = zf.infolist()
        assert [i.filename for i in infos][1:3] == ["bag/data/文件0.bin", "bag/data/文件1.bin"]
        for i, info in enumerate(infos[1:-1]):
            assert zf.read(info) == b"".join(_blob(info.file_size, i))
            assert info.date_time == (2022, 11, 1, 10, 0, 0) and info.compress_type == zipfile.ZIP_STORED
            assert zlib.crc32(zf.read(info)) == info.CRC
    assert data == _whole(force_zip64=force_zip64)  # the same members give the same bytes


def test_every_range_is_the_slice_of_the_whole_with_digests_known_or_not() -> None:
    whole = _whole()
    sized = stream_zip(_members(), WHEN, sizing=True)
    with pytest.raises(StopIteration) as stop:
        while True:
            assert next(sized) == b"never"  # sizing yields nothing
    assert stop.value.value == len(whole)
    for start, end in ((0, None), (1, 100), (40, 3 * MIB), (len(whole) - 30, None), (MIB + 3, 2 * MIB + 5)):
        for known in (False, True):
            part = b"".join(stream_zip(_members(known), WHEN, start, end))
            assert part == whole[start : None if end is None else end + 1], (start, end, known)


def test_the_stream_holds_a_bounded_buffer_whatever_the_members_size() -> None:
    """64 MiB through the writer: no piece above CHUNK, and Python's own allocations stay a few MiB."""
    size = 64 * MIB
    members = [Member("bag/data/big.bin", size=size, read=_reader(size, 7))]
    tracemalloc.start()
    try:
        total = 0
        for piece in stream_zip(members, WHEN):
            assert len(piece) <= CHUNK
            total += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > size
    assert peak < 4 * CHUNK, peak
