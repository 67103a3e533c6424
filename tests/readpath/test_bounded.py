"""The bounded dictionary behind the kept API keys and form parties: the least recently used goes first."""

from app.readpath.bounded import BoundedLru


def test_the_least_recently_used_entry_is_dropped_first() -> None:
    kept: BoundedLru[str, int] = BoundedLru(2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # "a" used: "b" is now the oldest
    kept.put("c", 3)
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (1, None, 3)
    kept.put("a", 10)  # replaced, and used
    kept.put("d", 4)
    assert (kept.get("a"), kept.get("c"), kept.get("d")) == (10, None, 4)
    kept.pop("a")
    kept.pop("missing")
    assert kept.get("a") is None and kept.get("d") == 4
