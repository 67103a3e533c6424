"""SELECTs for the hottest read paths, run straight on the driver's cursor.

The statement is an ordinary SQLAlchemy ``select``; it is compiled once per dialect and its
result types are processed the way SQLAlchemy would (UTC datetimes, JSON), but each execution
skips the engine's per-statement machinery (compiled-cache lookup, execution context, result
metadata, Row objects), which costs more than the query itself on ``GET /applications/{id}``
(``python -m bench.read_path``). Reads SQLAlchemy's compiled-statement
internals (``_result_columns``, ``_bind_processors``, ``_cached_result_processor``), stable across
2.0.x and 2.1 (bounded <2.2 in pyproject.toml); tests/core/fast/test_select.py compares its rows with
``session.execute`` on both databases.
"""

from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa

_Plan = tuple[
    str,
    tuple[str, ...] | None,
    dict[str, Any],
    dict[str, Callable[[Any], Any]],
    list[Callable[[Any], Any] | None],
    type,
]


@dataclass(frozen=True, slots=True)
class DriverTransaction:
    """A transaction open on a bare driver connection (``app.core.fast.reader``), for DirectSelect."""

    driver: Any
    dialect: sa.Dialect


Executor = sa.Connection | DriverTransaction


class DirectSelect:
    def __init__(self, statement: sa.Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, str], _Plan] = {}  # by dialect and driver: their parameter styles differ

    def _plan(self, dialect: sa.Dialect) -> _Plan:
        compiled = self.statement.compile(dialect=dialect)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("DirectSelect cannot run statements with expanding parameters (IN lists)")
        columns = compiled._result_columns  # (key, name, objects, type)
        processors = [col[3]._cached_result_processor(dialect, None) for col in columns]
        row_type = namedtuple("Row", [col[0] for col in columns], rename=True)  # type: ignore[misc]  # field names known only at run time
        positions = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        defaults = dict(compiled.construct_params(_check=False))  # values the statement carries itself
        # One callable per parameter here: only tuple-valued (IN) parameters get a sequence, refused above.
        binds = cast(dict[str, Callable[[Any], Any]], dict(compiled._bind_processors))
        plan: _Plan = (compiled.string, positions, defaults, binds, list(processors), row_type)
        self._plans[(dialect.name, dialect.driver)] = plan
        return plan

    def _bound(self, dialect: sa.Dialect, params: dict[str, Any]) -> tuple[str, Any, _Plan]:
        plan = self._plans.get((dialect.name, dialect.driver)) or self._plan(dialect)
        sql, positions, defaults, binds, _, _ = plan
        values = {**defaults, **params}
        for name, process in binds.items():
            values[name] = process(values[name])
        return sql, [values[name] for name in positions] if positions is not None else values, plan

    @staticmethod
    def _rows(plan: _Plan, raw: list[Any]) -> list[Any]:
        processors, row_type = plan[4], plan[5]
        return [row_type(*[p(v) if p else v for p, v in zip(processors, row, strict=True)]) for row in raw]

    def all(self, conn: Executor, params: dict[str, Any]) -> list[Any]:
        """Rows (attribute access by column key) of the statement on ``conn``'s current transaction."""
        if isinstance(conn, sa.Connection):
            driver, dialect = conn.connection.driver_connection, conn.dialect
        else:
            driver, dialect = conn.driver, conn.dialect
        sql, args, plan = self._bound(dialect, params)
        cursor = driver.cursor()  # type: ignore[union-attr]  # set on every live pooled connection
        try:
            cursor.execute(sql, args)
            raw = cursor.fetchall()
        finally:
            cursor.close()
        return self._rows(plan, raw)

    async def first_async(self, driver: Any, dialect: sa.Dialect, params: dict[str, Any]) -> Any | None:
        """``first`` on an asyncpg connection, ``dialect`` SQLAlchemy's for asyncpg: the statement runs
        alone, prepared once per connection by asyncpg's statement cache."""
        sql, args, plan = self._bound(dialect, params)
        rows = self._rows(plan, await driver.fetch(sql, *args))
        return rows[0] if rows else None

    def first(self, conn: Executor, params: dict[str, Any]) -> Any | None:
        rows = self.all(conn, params)
        return rows[0] if rows else None
