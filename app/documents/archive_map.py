"""An archive already streamed once, kept as a map of its bytes: what was made (headers, small documents,
manifests, the directory) as bytes, and what is stored (attachments, stored forms) as where it is read
from. Replaying the map gives the same bytes as making the archive again, without a query, a render or
a hash: a later download only copies, and any byte range is served from the map alone."""

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from app.documents.zipstream import Piece, Run, Stored


@dataclass(frozen=True, slots=True)
class ArchiveMap:
    runs: tuple[Run, ...]
    starts: tuple[int, ...]  # where each run starts in the archive
    size: int

    @classmethod
    def of(cls, runs: "list[bytearray | Stored]") -> "ArchiveMap":
        kept = tuple(bytes(r) if isinstance(r, bytearray) else r for r in runs)
        starts, pos = [], 0
        for run in kept:
            starts.append(pos)
            pos += run.length if isinstance(run, Stored) else len(run)
        return cls(kept, tuple(starts), pos)

    def pieces(self, start: int = 0, end: int | None = None) -> Iterator[Piece]:
        """The archive's bytes ``start``..``end`` (inclusive; None: to the end)."""
        last = self.size - 1 if end is None else min(end, self.size - 1)
        i = max(bisect_right(self.starts, start) - 1, 0)
        while i < len(self.runs) and self.starts[i] <= last:
            run, at = self.runs[i], self.starts[i]
            lo, hi = max(start - at, 0), last + 1 - at  # hi: past the end of the run when it goes on
            if isinstance(run, bytes):
                yield run if lo == 0 and hi >= len(run) else memoryview(run)[lo:hi]
            else:
                yield from _stored(run, lo, hi)
            i += 1


def _stored(run: Stored, lo: int, hi: int) -> Iterator[Piece]:
    """The stored run's bytes ``lo``..``hi`` (exclusive), as read; an error if the store holds fewer."""
    pos, wanted = lo, min(hi, run.length)
    for chunk in run.read(lo):
        take = min(len(chunk), wanted - pos)
        yield chunk if take == len(chunk) else memoryview(chunk)[:take]
        pos += take
        if pos >= wanted:
            return
    raise OSError(f"a stored file ended {wanted - pos} bytes short")
