"""Demo rows collected per table with explicit ids, and written in foreign-key order.

Core bulk inserts with explicit ids write thousands of activities in well under a second.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.orm import Session

from storage.models import Base, table_of
from storage.types import utc


class Rows:
    """Rows per table with explicit ids, written in foreign-key order at the end."""

    def __init__(self) -> None:
        self.rows: dict[Table, list[dict[str, Any]]] = {}
        self._next: dict[Table, int] = {}

    def add(self, model: type[Base], **values: Any) -> int:
        table = table_of(model)
        if "id" in table.c and "id" not in values:
            values["id"] = self._next[table] = self._next.get(table, 0) + 1
        for name, value in values.items():
            if isinstance(value, datetime):
                values[name] = utc(value)
        self.rows.setdefault(table, []).append(values)
        return int(values.get("id", 0))

    def write(self, session: Session) -> dict[str, int]:
        counts = {}
        for table in Base.metadata.sorted_tables:
            rows = self.rows.get(table)
            if not rows:
                continue
            # Rows of one table may set different optional columns: fill the gaps with None
            # so one executemany covers them all.
            columns = sorted({name for row in rows for name in row})
            # Replies come after the emails they answer, so self-references resolve in order.
            session.execute(insert(table), [{c: row.get(c) for c in columns} for row in rows])
            counts[table.name] = len(rows)
        return counts


def sync_sequences(session: Session, rows: Rows) -> None:
    """Move PostgreSQL's id sequences past the explicit ids the demo wrote."""
    # Explicit ids leave PostgreSQL's sequences behind; move them past the demo's ids.
    for table in rows.rows:
        if "id" in table.c:
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"
                )
            )
