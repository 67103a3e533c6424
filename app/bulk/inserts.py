"""Inserting many rows at once inside the session's transaction, as fast as the backend allows.

Every value goes through its column's own bind processing (UTC timestamps, JSON through the
engine's serializer), so the rows stored are exactly those ``session.execute(sa.insert(table),
rows)`` would store; what is skipped is SQLAlchemy's per-row parameter machinery:

* PostgreSQL: ``COPY … FROM STDIN`` on the session's connection (constraints and foreign keys are
  checked as for ``INSERT``; it is part of the transaction, so a rollback undoes it);
* SQLite: the driver's ``executemany`` with positional tuples.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session


def _memoized(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Timestamps repeat (every row of a batch has the same ``now``): convert each distinct one once."""
    seen: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        if isinstance(value, date):
            try:
                return seen[value]
            except KeyError:
                seen[value] = out = process(value)
                return out
        return process(value)

    return run


def insert_many(session: Session, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (mappings with the same keys) into ``table`` in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    if dialect.name != "postgresql":
        compiled = sa.insert(table).compile(dialect=dialect, column_keys=keys)
        keys = list(compiled.positiontup or keys)
    columns = [table.c[key] for key in keys]
    processed = [
        (i, _memoized(process)) for i, column in enumerate(columns)
        if (process := column.type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    pick = itemgetter(*keys)

    def values(row: Mapping[str, Any]) -> tuple[Any, ...]:
        if len(keys) == 1:
            out = [row[keys[0]]]
        elif not processed:
            return pick(row)  # type: ignore[no-any-return]
        else:
            out = list(pick(row))
        for i, process in processed:
            out[i] = process(out[i])
        return tuple(out)

    if dialect.name == "postgresql":
        preparer = dialect.identifier_preparer
        names = ", ".join(preparer.quote(column.name) for column in columns)
        driver = connection.connection.driver_connection
        assert driver is not None
        statement = f"COPY {preparer.format_table(table)} ({names}) FROM STDIN"
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(values(row))
        except dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy reports it for a statement it ran
            raise sa.exc.DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error) from exc
        return
    connection.exec_driver_sql(compiled.string, [values(row) for row in rows])
