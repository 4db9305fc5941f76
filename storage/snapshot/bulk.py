"""Fast multi-row INSERTs: one driver-level executemany per batch.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert for wide
rows (a UTCDateTime bind alone takes microseconds). Here each column gets one converter,
chosen once per table, that produces exactly what SQLAlchemy would bind (a test holds
them equal), and the rows go to the DB-API ``executemany`` through ``exec_driver_sql``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import JSON, Connection, Date, Table
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect

from storage.types import UTCDateTime

Converter = Callable[[Any], Any]


def sqlite_timestamp(value: datetime | None) -> str | None:
    """What UTCDateTime binds on SQLite: naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # "YYYY-MM-DD HH:MM:SS.ffffff+00:00" without its offset: cheaper than replace().
    return value.isoformat(" ", "microseconds")[:26]


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def column_converter(column: Any, dialect: Dialect) -> tuple[Converter | None, bool]:
    """The converter for one column, and whether it must also see ``None``."""
    kind = column.type
    sqlite = dialect.name == "sqlite"
    if isinstance(kind, UTCDateTime):
        return (sqlite_timestamp if sqlite else None), True
    if isinstance(kind, Date):
        return (_sqlite_date if sqlite else None), True
    if isinstance(kind, SAEnum):
        return _enum_value, False
    if isinstance(kind, JSON):
        # JSON binds None as the JSON text 'null' unless none_as_null: keep its processor,
        # but compute that constant once (most activities leave their JSON columns empty).
        processor = kind._cached_bind_processor(dialect)
        if processor is None:
            return None, False
        return _json_converter(processor), True
    processor = kind._cached_bind_processor(dialect)
    return processor, False


class BulkInserter:
    """Inserts lists of row dicts into tables with the fewest round trips."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self._plans: dict[tuple[str, tuple[str, ...]], tuple[str, list[tuple[int, Converter]]]] = {}

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> int:
        """Insert ``rows`` (dicts keyed by column name); return how many."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(tuple(row), []).append(row)
        for keys, group in groups.items():
            self.insert_tuples(table, keys, [tuple(row.values()) for row in group])
        return len(rows)

    def insert_tuples(
        self, table: Table, keys: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> int:
        """Insert ``rows``, each a tuple of values for the columns ``keys``; return how many.

        The cheaper path for rows built in bulk (associations, history): no dict per row.
        """
        if not rows:
            return 0
        sql, converters = self._plan(table, keys)
        params = rows
        if converters:
            # Column by column: map() runs each converter down a whole column, which
            # costs far less than a Python loop over rows and positions.
            columns: list[Iterable[Any]] = list(zip(*rows, strict=True))
            for position, convert in converters:
                columns[position] = map(convert, columns[position])
            params = list(zip(*columns, strict=True))
        self.conn.exec_driver_sql(sql, params)
        return len(rows)

    def _plan(self, table: Table, keys: tuple[str, ...]) -> tuple[str, list[tuple[int, Converter]]]:
        plan = self._plans.get((table.name, keys))
        if plan is None:
            quote = self.dialect.identifier_preparer.quote
            marker = "?" if self.dialect.paramstyle == "qmark" else "%s"
            sql = (
                f"INSERT INTO {quote(table.name)} ({', '.join(quote(k) for k in keys)}) "
                f"VALUES ({', '.join(marker for _ in keys)})"
            )
            converters: list[tuple[int, Converter]] = []
            for position, key in enumerate(keys):
                convert, sees_none = column_converter(table.c[key], self.dialect)
                if convert is not None:
                    converters.append((position, convert if sees_none else _skip_none(convert)))
            plan = (sql, converters)
            self._plans[(table.name, keys)] = plan
        return plan


def _json_converter(processor: Converter) -> Converter:
    bound_none = processor(None)

    def converted(value: Any) -> Any:
        return bound_none if value is None else processor(value)

    return converted


def _skip_none(convert: Converter) -> Converter:
    def converted(value: Any) -> Any:
        return None if value is None else convert(value)

    return converted
