"""Inserting many rows at once inside the session's transaction, as fast as the backend allows.

Every value goes through its column's own bind processing (UTC timestamps, JSON through the
engine's serializer), so the rows stored are exactly those ``session.execute(sa.insert(table),
rows)`` would store; what is skipped is SQLAlchemy's per-row parameter machinery:

* PostgreSQL: ``COPY … FROM STDIN`` on the session's connection (constraints and foreign keys are
  checked as for ``INSERT``; it is part of the transaction, so a rollback undoes it);
* SQLite: the driver's ``executemany`` with positional tuples; JSON goes to the driver as the
  serializer's UTF-8 bytes cast to TEXT in the statement, the same stored text without decoding
  it to a Python string for the driver to encode again.

What it saves shows in ``python -m bench.bulk_import`` (bulk upload against raw driver inserts of the
same rows). It reads the dialect's JSON serializer (``_json_serializer``, SQLAlchemy <2.2);
tests/bulk/test_fast_path.py compares what it stores with ``sa.insert`` on both databases.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.db import _json_dumps


def _memoized(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Timestamps repeat (every row of a batch has the same ``now``): convert each distinct one once."""
    seen: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        if value is None or isinstance(value, date):
            try:
                return seen[value]
            except KeyError:
                seen[value] = out = process(value)
                return out
        return process(value)

    return run


def _json_not_null(type_: sa.types.TypeEngine[Any]) -> bool:
    return isinstance(type_, sa.JSON) and not type_.none_as_null


def _plan(dialect: sa.Dialect, table: sa.Table, keys: list[str]) -> tuple[str | None, list[str], set[str]]:
    """(the SQLite statement, the keys in its parameter order, the JSON keys sent as UTF-8 bytes)."""
    if dialect.name == "postgresql":
        return None, keys, set()
    as_bytes: set[str] = set()
    if dialect._json_serializer is _json_dumps:  # orjson: UTF-8 bytes before decoding
        as_bytes = {k for k in keys if _json_not_null(table.c[k].type)}
    compiled = (
        sa.insert(table)
        .values({k: sa.cast(sa.bindparam(k), sa.Text) if k in as_bytes else sa.bindparam(k) for k in keys})
        .compile(dialect=dialect)
    )
    return compiled.string, list(compiled.positiontup or keys), as_bytes


def insert_many(session: Session, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (mappings with the same keys) into ``table`` in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    sql, keys, as_bytes = _plan(dialect, table, list(rows[0]))
    columns = [table.c[key] for key in keys]
    processed: list[tuple[int, Callable[[Any], Any]]] = []
    for i, (key, column) in enumerate(zip(keys, columns, strict=True)):
        if key in as_bytes:
            processed.append((i, orjson.dumps))  # what the engine's serializer returns, still encoded
        elif (process := column.type.dialect_impl(dialect).bind_processor(dialect)) is not None:
            processed.append((i, _memoized(process)))
    pick = itemgetter(*keys)

    def values(row: Mapping[str, Any]) -> tuple[Any, ...]:
        if len(keys) == 1:
            out = [row[keys[0]]]
        elif not processed:
            picked: tuple[Any, ...] = pick(row)
            return picked
        else:
            out = list(pick(row))
        for i, process in processed:
            out[i] = process(out[i])
        return tuple(out)

    if sql is not None:
        connection.exec_driver_sql(sql, [values(row) for row in rows])
        return
    preparer = dialect.identifier_preparer
    copy_sql = f"COPY {preparer.format_table(table)} ({', '.join(preparer.quote(c.name) for c in columns)}) FROM STDIN"
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(values(row))
    except dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy reports it for a statement it ran
        raise sa.exc.DBAPIError.instance(copy_sql, None, exc, dialect.loaded_dbapi.Error) from exc
