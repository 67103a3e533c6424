"""The collector helpers leave the process as they found it."""

import gc

import orjson
import pytest

from app.core.fast.collector import collector_spared, loads_without_collector


def test_the_collector_spares_old_objects_only_while_runs_last() -> None:
    if gc.get_freeze_count():
        pytest.skip("something in this process froze objects already")
    with collector_spared():
        assert gc.get_freeze_count() > 0
        with collector_spared():  # a concurrent run
            pass
        assert gc.get_freeze_count() > 0  # the first run goes on
    assert gc.get_freeze_count() == 0
    gc.freeze()  # someone else's freeze (a pre-forking server) is left as it is
    try:
        frozen = gc.get_freeze_count()
        with collector_spared():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_loads_without_collector_parses_and_turns_it_back_on() -> None:
    assert gc.isenabled()
    assert loads_without_collector(b'{"rows": [1, "\xe4\xb8\x80"]}') == {"rows": [1, "一"]}
    assert gc.isenabled()
    with pytest.raises(orjson.JSONDecodeError):
        loads_without_collector(b"{")
    assert gc.isenabled()
    gc.disable()
    try:
        assert loads_without_collector(b"[]") == []
        assert not gc.isenabled()  # someone else's choice is kept
    finally:
        gc.enable()
