"""``DirectSelect`` returns what ``session.execute`` returns, types processed alike, on both databases."""

from datetime import UTC

import pytest
import sqlalchemy as sa

from app.core.db import UTCDateTime
from app.core.fast.select import DirectSelect
from app.reference.models import Call

_CALLS = sa.select(Call.__table__).order_by(Call.key)  # type: ignore[attr-defined]


def test_rows_equal_those_of_the_engine(app) -> None:
    direct = DirectSelect(_CALLS)
    with app.state.database.read_engine.connect() as conn, conn.begin():
        fast = direct.all(conn, {})
        slow = conn.execute(_CALLS).all()
    assert fast and [tuple(r) for r in fast] == [tuple(r) for r in slow]
    first = fast[0]
    assert first.deadline.tzinfo is UTC  # UTC-aware, as the column type returns it
    assert isinstance(first.catalogue, list) and isinstance(first.is_practice, bool)
    assert first._fields == tuple(slow[0]._fields)


def test_bound_parameters_go_through_their_types(app) -> None:
    with app.state.database.reader() as session:
        deadline = session.execute(sa.select(Call.deadline).where(Call.key == "9th-batch")).scalar_one()
    query = DirectSelect(
        sa.select(Call.key).where(Call.deadline == sa.bindparam("deadline", type_=UTCDateTime), Call.version >= 1)
    )
    with app.state.database.read_engine.connect() as conn, conn.begin():
        assert [r.key for r in query.all(conn, {"deadline": deadline})] == ["9th-batch"]
        assert query.first(conn, {"deadline": deadline.replace(year=1999)}) is None


def test_expanding_parameters_are_refused(app) -> None:
    query = DirectSelect(sa.select(Call.key).where(Call.key.in_(["a", "b"])))  # type: ignore[attr-defined]
    with app.state.database.read_engine.connect() as conn, conn.begin(), pytest.raises(ValueError):
        query.all(conn, {})
