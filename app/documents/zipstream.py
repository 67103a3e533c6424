"""A ZIP archive written as a stream: stored (not compressed) members, any byte range of it on demand.

Members are stored, so the archive's layout follows from the members' sizes alone: a byte range can be
served without the bytes before it, given each earlier member's CRC-32 (for the central directory). A
member whose digests are known already is skipped without being read; one whose digests are not is read
and hashed (CRC-32, SHA-256, SM3) as it goes, and the digests are handed back (``Member.learned``).

Local headers carry general-purpose flag bit 3 (sizes and CRC in a data descriptor after the data) and
bit 11 (UTF-8 names); every timestamp is the one given, so the same members give the same bytes. ZIP64
records are written where an offset, a count or the directory passes the 32-bit fields; a single member
is at most 4 GiB less a byte (attachments are far smaller).
"""

import hashlib
import struct
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

CHUNK = 1024 * 1024  # the largest piece the stream yields, and what small pieces are gathered into
MAX32 = 0xFFFFFFFF
Piece = bytes | memoryview  # what the stream yields: a large piece of a stored file is passed on as read
FLAGS = 0x0808  # bit 3: data descriptor; bit 11: UTF-8 names


@dataclass(frozen=True, slots=True)
class Digests:
    crc32: int
    sha256: str
    sm3: str


UNKNOWN = Digests(0, "0" * 64, "0" * 64)  # a stored file's digests while sizing (its bytes are not read)
Reader = Callable[[int], Iterator[Piece]]  # a stored file's bytes from an offset to its end


@dataclass(frozen=True, slots=True)
class Stored:
    """A run of the archive kept in a store rather than in memory: ``length`` bytes read by ``read``."""

    length: int
    read: Reader


Run = bytes | Stored  # what an archive map holds: bytes made once, or where stored bytes are read from


@dataclass(frozen=True, slots=True)
class Made:
    """A document's bytes, with their digests when known, and where they are stored when they are."""

    data: bytes
    digests: "Digests | None" = None
    stored: Reader | None = None


class _GmalglibSM3:
    """gmalglib's SM3 (C) with hashlib's face, for an OpenSSL built without SM3."""

    def __init__(self) -> None:
        from gmalglib.sm3 import SM3

        self._h = SM3()

    def update(self, data: bytes | memoryview) -> None:
        self._h.update(bytes(data))

    def hexdigest(self) -> str:
        return str(self._h.digest().hex())


def sm3() -> Any:
    """SM3 (GB/T 32905) from the OpenSSL behind hashlib, or gmalglib's where OpenSSL lacks it."""
    if "sm3" in hashlib.algorithms_available:
        return hashlib.new("sm3")
    return _GmalglibSM3()  # pragma: no cover


class Hasher:
    """CRC-32, SHA-256 and SM3 of a stream; a SHA-256 stored already is taken as it is, not computed."""

    def __init__(self, sha256: str | None = None) -> None:
        self.crc, self.sm, self.stored = 0, sm3(), sha256
        self.sha = None if sha256 else hashlib.sha256()

    def update(self, data: bytes | memoryview) -> None:
        self.crc = zlib.crc32(data, self.crc)
        if self.sha is not None:
            self.sha.update(data)
        self.sm.update(data)

    def digests(self) -> Digests:
        sha256 = self.sha.hexdigest() if self.sha is not None else str(self.stored)
        return Digests(self.crc, sha256, self.sm.hexdigest())


def digests_of(data: bytes) -> Digests:
    hasher = Hasher()
    hasher.update(data)
    return hasher.digests()


@dataclass(eq=False)
class Member:
    """One file of the archive: its bytes from ``produce`` (made when reached) or ``read`` (from an offset)."""

    name: str
    size: int | None = None  # None until produced
    digests: Digests | None = None
    produce: Callable[[], "bytes | Made"] | None = None
    read: Reader | None = None
    learned: Callable[[Digests], None] | None = None  # told the digests once they are computed
    sha256: str | None = None  # stored already (an attachment's): not computed again
    done: list[Callable[["Member"], None]] = field(default_factory=list)

    def made_now(self) -> Made:
        assert self.produce is not None
        made = self.produce()
        made = made if isinstance(made, Made) else Made(made)
        self.size, self.digests = len(made.data), made.digests or digests_of(made.data)
        return made


class _Out:
    """The stream's position, and what of it lies in [start, end] gathered into pieces of at most CHUNK."""

    def __init__(self, start: int, end: int | None, runs: "list[bytearray | Stored] | None" = None) -> None:
        self.pos, self.start, self.end = 0, start, end
        self.pending = bytearray()
        self.runs = runs  # the whole archive as runs, when it is being mapped

    def refer(self, run: Stored) -> None:
        """The next ``run.length`` bytes are read from a store: mapped as where they are, not as bytes."""
        if self.runs is not None:
            self.runs.append(run)

    def wants(self, length: int) -> bool:
        """Whether any of the next ``length`` bytes is asked for."""
        return self.pos + length > self.start and (self.end is None or self.pos <= self.end)

    def finished(self) -> bool:
        return self.end is not None and self.pos > self.end

    def skip(self, length: int) -> None:
        self.pos += length

    def put(self, data: Piece, *, referred: bool = False) -> Iterator[Piece]:
        if self.runs is not None and not referred:
            if self.runs and isinstance(self.runs[-1], bytearray):
                self.runs[-1] += data
            else:
                self.runs.append(bytearray(data))
        lo = max(self.start - self.pos, 0)
        hi = len(data) if self.end is None else min(len(data), self.end + 1 - self.pos)
        self.pos += len(data)
        if hi <= lo:
            return
        piece = data if lo == 0 and hi == len(data) else memoryview(data)[lo:hi]
        if len(self.pending) + len(piece) > CHUNK:
            yield from self.flush()
        if len(piece) >= CHUNK // 2:
            yield from self.flush()
            yield piece
        else:
            self.pending += piece

    def flush(self) -> Iterator[Piece]:
        if self.pending:
            yield bytes(self.pending)
            self.pending.clear()


def _dos(when: datetime) -> tuple[int, int]:
    return (when.hour << 11) | (when.minute << 5) | (when.second // 2), (
        ((when.year - 1980) << 9) | (when.month << 5) | when.day
    )


def _made(member: Member, out: _Out, sizing: bool) -> Iterator[Piece]:
    """A document's bytes: made when reached, unless its size and digests are known and none is wanted."""
    if member.digests is not None and member.size is not None and not out.wants(member.size):
        out.skip(member.size)
        return
    yield from out.flush()  # what was gathered goes out before a slow render
    made = member.made_now()
    data = made.data
    if made.stored is not None:
        out.refer(Stored(len(data), made.stored))
    for i in range(0, len(data), CHUNK):
        yield from out.put(data[i : i + CHUNK], referred=made.stored is not None)


def _stored(member: Member, out: _Out, sizing: bool) -> Iterator[Piece]:
    """A stored file's bytes: skipped when sizing or not wanted, read from where the range starts when
    its digests are known, else read whole and hashed as it goes."""
    assert member.read is not None and member.size is not None
    if sizing or (member.digests is not None and not out.wants(member.size)):
        out.skip(member.size)
    elif member.digests is not None:
        skipped = max(out.start - out.pos, 0)
        out.skip(skipped)
        out.refer(Stored(member.size, member.read))
        for chunk in member.read(skipped):
            yield from out.put(chunk, referred=True)
            if out.finished():
                break
    else:
        hasher, read = Hasher(member.sha256), 0
        out.refer(Stored(member.size, member.read))
        for chunk in member.read(0):
            hasher.update(chunk)
            read += len(chunk)
            yield from out.put(chunk, referred=True)
        if read != member.size:
            raise OSError(f"{member.name}: {read} bytes stored, {member.size} expected")
        member.digests = hasher.digests()
        if member.learned is not None:
            member.learned(member.digests)


def stream_zip(
    members: Iterable[Member],
    when: datetime,
    start: int = 0,
    end: int | None = None,
    *,
    sizing: bool = False,
    force_zip64: bool = False,
    runs: "list[bytearray | Stored] | None" = None,
) -> Generator[Piece, None, int]:
    """The archive's bytes ``start``..``end`` (inclusive; None: to the end), in pieces of at most CHUNK.

    ``sizing``: nothing is read nor yielded; members are produced (so their sizes and digests are
    known), and the stream's length is what the iteration returns (``StopIteration.value``).
    ``runs``: filled, on a whole pass, with the archive as made bytes and stored runs (``Stored``): what
    an ``ArchiveMap`` replays without making anything again."""
    assert runs is None or (start == 0 and end is None and not sizing), "only a whole pass maps the archive"
    out = _Out(MAX32 * MAX32 if sizing else start, end, runs)
    mtime, mdate = _dos(when)
    directory: list[tuple[bytes, Digests, int, int]] = []
    for member in members:
        name = member.name.encode()
        yield from out.put(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, FLAGS, 0, mtime, mdate, 0, 0, 0, len(name), 0))
        yield from out.put(name)
        offset = out.pos - 30 - len(name)
        yield from (_made if member.produce is not None else _stored)(member, out, sizing)
        size = member.size or 0
        if size >= MAX32:
            raise ValueError(f"{member.name}: a member of 4 GiB or more")
        digests = member.digests or UNKNOWN  # sizing: the bytes are never sent
        yield from out.put(struct.pack("<IIII", 0x08074B50, digests.crc32, size, size))
        directory.append((name, digests, size, offset))
        for callback in member.done:
            callback(member)
        if out.finished():
            yield from out.flush()
            return out.pos
    yield from out.flush()
    cd_start = out.pos
    for name, digests, size, offset in directory:
        big = force_zip64 or offset >= MAX32
        extra = struct.pack("<HHQ", 1, 8, offset) if big else b""
        yield from out.put(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                (3 << 8) | (45 if big else 20),
                45 if big else 20,
                FLAGS,
                0,
                mtime,
                mdate,
                digests.crc32,
                size,
                size,
                len(name),
                len(extra),
                0,
                0,
                0,
                0o100644 << 16,
                MAX32 if big else offset,
            )
            + name
            + extra
        )
    cd_size, count = out.pos - cd_start, len(directory)
    if force_zip64 or count >= 0xFFFF or cd_start >= MAX32 or cd_size >= MAX32:
        eocd64 = out.pos
        yield from out.put(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, cd_start))
        yield from out.put(struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1))
        count, cd_size, cd_start = min(count, 0xFFFF), min(cd_size, MAX32), min(cd_start, MAX32)
    yield from out.put(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, cd_size, cd_start, 0))
    yield from out.flush()
    return out.pos
