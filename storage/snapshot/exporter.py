"""Exporting the whole store as a snapshot, streamed in batches (memory stays flat).

Everything is read in one transaction, so the file is a consistent picture. The file is
written beside its destination and renamed at the end: a failed export leaves no half
file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, Table, bindparam, select

from storage.snapshot.fields import FORMAT, OBJECT_SECTIONS, SECTIONS, VERSION, Field
from storage.snapshot.tables import (
    ACTIVITY_LINKS,
    ASSIGNMENTS,
    DEAL_CONTACTS,
    DEAL_SCORES,
    PIPELINES,
    SECTION_TABLES,
    STAGES,
    TEAM_DIGESTS,
    WORKSPACE,
    SectionTable,
)

DEFAULT_BATCH_SIZE = 5000


def format_timestamp(value: datetime) -> str:
    """UTC, ISO 8601, with a ``Z``: the form the exporter writes."""
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def to_json(value: Any) -> Any:
    """A stored value as its snapshot JSON value."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, Decimal):
        # Amounts have at most 14 significant digits: a float round-trips them exactly.
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def export_snapshot(
    engine: Engine,
    destination: Path,
    *,
    now: datetime,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> dict[str, int]:
    """Write every record to ``destination`` as a snapshot; return records per section.

    Args:
        engine: the database.
        destination: the file to (over)write.
        now: recorded as ``exported_at``.
        batch_size: rows fetched and written per batch.
    """
    destination = Path(destination)
    directory = destination.parent if str(destination.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=".export-", suffix=".json", dir=directory)
    try:
        with (
            os.fdopen(handle, "w", encoding="utf-8") as out,
            engine.connect() as conn,
            conn.begin(),
        ):
            counts = _Exporter(conn, out, batch_size).write(now)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return counts


class _Exporter:
    def __init__(self, conn: Connection, out: IO[str], batch_size: int) -> None:
        self.conn = conn
        self.out = out
        self.batch_size = batch_size
        self._small: dict[str, dict[int, str]] = {}
        self._pipelines: dict[int, str] = {}
        self._stages: dict[int, str] = {}

    def write(self, now: datetime) -> dict[str, int]:
        out = self.out
        out.write("{\n")
        out.write(f'"format": {json.dumps(FORMAT)},\n"version": {VERSION},\n')
        out.write(f'"exported_at": {json.dumps(format_timestamp(now))}')
        workspace = self.conn.execute(select(WORKSPACE).where(WORKSPACE.c.id == 1))
        settings = workspace.mappings().first()
        if settings is not None:
            values = {
                f.name: to_json(settings[f.column or f.name])
                for f in OBJECT_SECTIONS["workspace_settings"]
            }
            out.write(f',\n"workspace_settings": {_dumps(values)}')
        counts: dict[str, int] = {}
        for section in SECTIONS:
            out.write(f",\n{json.dumps(section)}: [")
            count = 0
            for record in self._records(section):
                out.write(",\n" if count else "\n")
                out.write(_dumps(record))
                count += 1
            out.write("\n]" if count else "]")
            counts[section] = count
        out.write("\n}\n")
        return counts

    # Reading ---------------------------------------------------------------------------

    def _batches(self, table: Table, order: Any) -> Iterator[list[dict[str, Any]]]:
        result = self.conn.execution_options(yield_per=self.batch_size).execute(
            select(table).order_by(order)
        )
        for partition in result.mappings().partitions():
            yield [dict(row) for row in partition]

    def _small_map(self, section: str) -> dict[int, str]:
        found = self._small.get(section)
        if found is None:
            table = SECTION_TABLES[section].table
            found = dict(self.conn.execute(select(table.c.id, table.c.external_id)).all())
            self._small[section] = found
        return found

    def _ext_ids(self, section: str, ids: set[int]) -> dict[int, str]:
        if section in ("pipelines", "stages"):
            return self._pipelines if section == "pipelines" else self._stages
        if SECTION_TABLES[section].small:
            return self._small_map(section)
        table = SECTION_TABLES[section].table
        query = select(table.c.id, table.c.external_id).where(
            table.c.id.in_(bindparam("ids", expanding=True))
        )
        return self._in_chunks(query, sorted(ids))

    def _in_chunks(self, query: Any, ids: list[int]) -> dict[int, Any]:
        found: dict[int, Any] = {}
        for start in range(0, len(ids), 5000):
            found.update(self.conn.execute(query, {"ids": ids[start : start + 5000]}).all())
        return found

    def _grouped(self, query: Any, ids: list[int]) -> dict[int, list[tuple[Any, ...]]]:
        grouped: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for start in range(0, len(ids), 5000):
            for first, *rest in self.conn.execute(query, {"ids": ids[start : start + 5000]}):
                grouped[first].append(tuple(rest))
        return grouped

    # Records ---------------------------------------------------------------------------

    def _records(self, section: str) -> Iterator[dict[str, Any]]:
        if section == "pipelines":
            yield from self._pipeline_records()
            return
        table = SECTION_TABLES[section]
        fields = SECTIONS[section]
        order = table.table.c[table.primary_key]
        for rows in self._batches(table.table, order):
            maps = self._ref_maps(fields, rows)
            children = self._children(table, [row["id"] for row in rows if "id" in row])
            for row in rows:
                yield self._record(table, fields, row, maps, children)

    def _ref_maps(
        self, fields: list[Field], rows: list[dict[str, Any]]
    ) -> dict[str, dict[int, str]]:
        maps: dict[str, dict[int, str]] = {}
        for f in fields:
            if f.ref is None or f.column is None:
                continue
            ids = {row[f.column] for row in rows if row[f.column] is not None}
            found = self._ext_ids(f.ref, ids)
            maps.setdefault(f.ref, {}).update(found)
        return maps

    def _record(
        self,
        table: SectionTable,
        fields: list[Field],
        row: dict[str, Any],
        maps: dict[str, dict[int, str]],
        children: dict[str, dict[int, list[tuple[Any, ...]]]],
    ) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for f in fields:
            if f.column is not None:
                value = row[f.column]
                if value is None:
                    continue
                record[f.name] = maps[f.ref][value] if f.ref else to_json(value)
                continue
            entries = children.get(f.name, {}).get(row.get("id", -1), [])
            if entries or not f.omit_empty:
                record[f.name] = self._child_values(table.section, f.name, entries)
        return record

    def _child_values(self, section: str, name: str, entries: list[tuple[Any, ...]]) -> Any:
        if name == "owner_history":
            users = self._small_map("users")
            return [
                {"owner": users[owner] if owner is not None else None, "assigned_at": to_json(at)}
                for owner, at in sorted(entries, key=lambda e: (e[1], e[0] or 0))
            ]
        if name == "scores":
            return [{"recorded_at": to_json(at), "score": s} for at, s in sorted(entries)]
        if name == "digest":
            [(at, weekdays, manager_at)] = entries
            return {
                "time": to_json(at),
                "weekdays": sorted(weekdays),
                "manager_time": to_json(manager_at),
            }
        if section == "deals" and name == "contacts":
            # (external id, associated at)
            return [
                {"contact": ext} | ({"associated_at": to_json(at)} if at is not None else {})
                for ext, at in sorted(entries)
            ]
        return sorted(ext for (ext,) in entries)

    def _children(
        self, table: SectionTable, ids: list[int]
    ) -> dict[str, dict[int, list[tuple[Any, ...]]]]:
        children: dict[str, dict[int, list[tuple[Any, ...]]]] = {}
        if not ids:
            return children
        if table.owned is not None:
            children["owner_history"] = self._grouped(
                select(ASSIGNMENTS.c.object_id, ASSIGNMENTS.c.owner_id, ASSIGNMENTS.c.assigned_at)
                .where(ASSIGNMENTS.c.object_type == table.owned)
                .where(ASSIGNMENTS.c.object_id.in_(bindparam("ids", expanding=True))),
                ids,
            )
        if table.section == "deals":
            contacts = SECTION_TABLES["contacts"].table
            children["contacts"] = self._grouped(
                select(
                    DEAL_CONTACTS.c.deal_id, contacts.c.external_id, DEAL_CONTACTS.c.associated_at
                )
                .join(contacts, contacts.c.id == DEAL_CONTACTS.c.contact_id)
                .where(DEAL_CONTACTS.c.deal_id.in_(bindparam("ids", expanding=True))),
                ids,
            )
            children["scores"] = self._grouped(
                select(DEAL_SCORES.c.deal_id, DEAL_SCORES.c.recorded_at, DEAL_SCORES.c.score).where(
                    DEAL_SCORES.c.deal_id.in_(bindparam("ids", expanding=True))
                ),
                ids,
            )
        if table.section == "teams":
            children["digest"] = self._grouped(
                select(
                    TEAM_DIGESTS.c.team_id,
                    TEAM_DIGESTS.c.digest_time,
                    TEAM_DIGESTS.c.digest_weekdays,
                    TEAM_DIGESTS.c.manager_digest_time,
                ).where(TEAM_DIGESTS.c.team_id.in_(bindparam("ids", expanding=True))),
                ids,
            )
        if table.section == "activities":
            for name, (link, column) in ACTIVITY_LINKS.items():
                target = SECTION_TABLES[name].table
                children[name] = self._grouped(
                    select(link.c.activity_id, target.c.external_id)
                    .join(target, target.c.id == link.c[column])
                    .where(link.c.activity_id.in_(bindparam("ids", expanding=True))),
                    ids,
                )
        return children

    def _pipeline_records(self) -> Iterator[dict[str, Any]]:
        stages: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in self.conn.execute(
            select(STAGES).order_by(STAGES.c.pipeline_id, STAGES.c.display_order, STAGES.c.id)
        ).mappings():
            self._stages[row["id"]] = row["external_id"]
            stage = {
                "id": row["external_id"],
                "label": row["label"],
                "state": to_json(row["state"]),
            }
            if row["probability"] is not None:
                stage["probability"] = to_json(row["probability"])
            stages[row["pipeline_id"]].append(stage)
        for row in self.conn.execute(select(PIPELINES).order_by(PIPELINES.c.id)).mappings():
            self._pipelines[row["id"]] = row["external_id"]
            yield {
                "id": row["external_id"],
                "object_type": to_json(row["object_type"]),
                "label": row["label"],
                "stages": stages[row["id"]],
            }


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))
