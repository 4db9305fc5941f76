"""Row ids by external id: what the file's references and upserts are resolved against."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, text

from storage.models import PipelineObject
from storage.snapshot.tables import PIPELINES, SECTION_TABLES, STAGES, SectionTable

# Bound parameters per IN (...) list: well below SQLite's and PostgreSQL's limits.
_IN_CHUNK = 4096
_SEEN_TABLE = "salesbot_import_seen"


def chunks(values: list[Any]) -> Iterator[list[Any]]:
    """``values`` in IN-list sized pieces, each padded to a power of two.

    Every distinct list length is a distinct SQL text, and the driver keeps each prepared
    statement it has seen (128 of them, some large): a few lengths keep memory flat.
    """
    for start in range(0, len(values), _IN_CHUNK):
        chunk = values[start : start + _IN_CHUNK]
        size = 8
        while size < len(chunk):
            size *= 2
        yield chunk + [chunk[-1]] * (size - len(chunk))


class Ids:
    """Looks up and remembers row ids for one import's connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self._small: dict[str, dict[str, int]] = {}
        self._pipelines: dict[tuple[PipelineObject, str], int] | None = None
        self.stages: dict[int, dict[str, int]] = {}
        self._first_new: dict[str, int] = {}
        self._seen_ready = False

    def small(self, section: str) -> dict[str, int]:
        """Every external id -> row id of a small section (kept until ``forget``)."""
        ids = self._small.get(section)
        if ids is None:
            table = SECTION_TABLES[section].table
            ids = dict(self.conn.execute(select(table.c.external_id, table.c.id)).all())
            self._small[section] = ids
        return ids

    def forget(self, section: str) -> None:
        """Rows of ``section`` were written: read its small map afresh next time."""
        self._small.pop(section, None)

    def of(self, section: str, external_ids: Iterable[str]) -> dict[str, int]:
        """External id -> row id for those of ``external_ids`` that exist."""
        if SECTION_TABLES[section].small:
            return self.small(section)
        table = SECTION_TABLES[section].table
        found: dict[str, int] = {}
        wanted = list(set(external_ids))
        # Plain SQL: this runs a few times per batch and SQLAlchemy's IN expansion costs
        # more than the lookup itself.
        for chunk in chunks(wanted):
            sql = (
                f"SELECT external_id, id FROM {table.name} "
                f"WHERE external_id IN ({', '.join([self._marker] * len(chunk))})"
            )
            found.update(self.conn.exec_driver_sql(sql, tuple(chunk)).all())
        return found

    def pipelines(self) -> dict[tuple[PipelineObject, str], int]:
        """(object type, external id) -> pipeline id; their stages fill ``stages``."""
        if self._pipelines is None:
            rows = self.conn.execute(
                select(PIPELINES.c.object_type, PIPELINES.c.external_id, PIPELINES.c.id)
            )
            self._pipelines = {(kind, ext): pid for kind, ext, pid in rows}
            self.stages = defaultdict(dict)
            for pipeline_id, ext, sid in self.conn.execute(
                select(STAGES.c.pipeline_id, STAGES.c.external_id, STAGES.c.id)
            ):
                self.stages[pipeline_id][ext] = sid
        return self._pipelines

    def forget_pipelines(self) -> None:
        """Pipelines were written behind the cache's back: read them afresh next time."""
        self._pipelines = None

    def first_new(self, table: SectionTable) -> int:
        """Row ids from this one on were inserted by this import (ids only grow)."""
        first = self._first_new.get(table.section)
        if first is None:
            highest = self.conn.scalar(select(func.max(table.table.c.id)))
            first = self._first_new[table.section] = (highest or 0) + 1
        return first

    def named_before(self, section: str, row_ids: list[int]) -> set[int]:
        """Which of these pre-existing rows an earlier record of the file already named.

        Kept in a temporary table, not in memory: a re-import names every row.
        """
        if not row_ids:
            return set()
        marker = self._marker
        if not self._seen_ready:
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_SEEN_TABLE}")
            self.conn.exec_driver_sql(
                f"CREATE TEMPORARY TABLE {_SEEN_TABLE} (section VARCHAR(40) NOT NULL, "
                "row_id INTEGER NOT NULL, PRIMARY KEY (section, row_id))"
            )
            self._seen_ready = True
        earlier: set[int] = set()
        for chunk in chunks(row_ids):
            earlier.update(
                self.conn.execute(
                    text(
                        f"SELECT row_id FROM {_SEEN_TABLE} WHERE section = :section "
                        "AND row_id IN :ids"
                    ).bindparams(bindparam("ids", expanding=True)),
                    {"section": section, "ids": chunk},
                ).scalars()
            )
        fresh = [(section, row_id) for row_id in set(row_ids) - earlier]
        if fresh:
            self.conn.exec_driver_sql(
                f"INSERT INTO {_SEEN_TABLE} (section, row_id) VALUES ({marker}, {marker})", fresh
            )
        return earlier

    def drop_seen(self) -> None:
        """Drop the temporary table of rows named so far (at the end of the import)."""
        if self._seen_ready:
            self.conn.execute(text(f"DROP TABLE IF EXISTS {_SEEN_TABLE}"))
