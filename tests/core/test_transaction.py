"""``Database.transaction``: the one way a unit of work ends, writing its events (the outbox) first."""

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.core.db import Database, make_database
from app.core.outbox import new_event, record_event, sequence
from app.core.outbox_models import Event, EventCounter
from app.core.settings import Settings

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    database = make_database(settings)
    yield database
    database.dispose()


def _events(database: Database) -> list[tuple[int, str]]:
    with database.reader() as session:
        return [(row.seq, row.subject_id) for row in session.execute(sa.select(Event).order_by(Event.seq)).scalars()]


def _counter(database: Database) -> int:
    with database.reader() as session:
        return session.execute(sa.select(EventCounter.value).where(EventCounter.id == 1)).scalar_one()


def test_a_clean_block_commits_with_its_events_numbered_in_order(database: Database) -> None:
    before = _counter(database)
    with database.transaction() as session:
        for name in ("a", "b", "c"):
            record_event(session, "call.updated", SimpleNamespace(id=name), now=NOW)
    assert _events(database) == [(before + 1, "a"), (before + 2, "b"), (before + 3, "c")]
    # Then the change feed's entries of the three (everyone reads calls' events), from the same counter.
    assert _counter(database) == before + 6


def test_an_exception_rolls_back_the_change_and_its_events(database: Database) -> None:
    before = _counter(database)

    class Refused(Exception):
        pass

    with pytest.raises(Refused), database.transaction() as session:
        session.execute(sa.update(EventCounter).where(EventCounter.id == 1).values(value=EventCounter.value + 100))
        record_event(session, "call.updated", SimpleNamespace(id="gone"), now=NOW)
        raise Refused
    assert _events(database) == []
    assert _counter(database) == before
    # The queue went with the rollback: the session's next use writes nothing of it.
    assert "smps_pending_events" not in session.info


def test_events_numbered_by_the_sequencer_share_the_counter(database: Database) -> None:
    """Code that inserts its own events (bulk uploads) numbers them with the same sequencer."""
    with database.transaction() as session:
        record_event(session, "call.updated", SimpleNamespace(id="queued"), now=NOW)
        rows = sequence(session, [new_event("call.updated", name, now=NOW) for name in ("x", "y")])
        session.execute(sa.insert(Event), rows)
    seqs = dict((subject, seq) for seq, subject in _events(database))
    # The queued event is written at commit, after the ones numbered directly: one gap-free order.
    assert sorted(seqs.values()) == list(range(min(seqs.values()), min(seqs.values()) + 3))
    assert seqs["x"] < seqs["y"] < seqs["queued"]


def test_a_reading_transaction_uses_the_reader(database: Database) -> None:
    with database.transaction(read=True) as session:
        assert session.get_bind() is database.read_engine


def test_the_outbox_needs_no_module_imported_for_its_side_effects(settings: Settings) -> None:
    """A process that imports only the database and the outbox still writes its events at commit."""
    script = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from types import SimpleNamespace\n"
        "from app.core.db import make_database\n"
        "from app.core.outbox import record_event\n"
        "from app.core.settings import Settings\n"
        "assert 'app.main' not in sys.modules\n"
        "database = make_database(Settings(database_url=sys.argv[1]))\n"
        "with database.transaction() as session:\n"
        "    record_event(session, 'call.updated', SimpleNamespace(id='alone'), now=datetime.now(UTC))\n"
        "database.dispose()\n"
    )
    subprocess.run([sys.executable, "-c", script, settings.database_url], check=True, timeout=120)
    database = make_database(settings)
    try:
        assert [subject for _, subject in _events(database)] == ["alone"]
    finally:
        database.dispose()
