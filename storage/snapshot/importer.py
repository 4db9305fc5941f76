"""Importing a snapshot: stream, check, upsert by external id, all in one transaction.

Records are read one at a time, checked against ``fields``, and written in batches with
Core ``executemany`` statements. Any problem is collected (up to ``max_problems``) and the
whole transaction is rolled back: a file with an error writes nothing.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import (
    Connection,
    Engine,
    Index,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage.defaults import ensure_default_pipelines
from storage.models import (
    Activity,
    Assignment,
    Company,
    Contact,
    Deal,
    DealContact,
    DealScore,
    Lead,
    OwnedObject,
    Pipeline,
    PipelineObject,
    PipelineStage,
    TeamDigestSettings,
    WorkspaceSettings,
)
from storage.ownership import assign
from storage.snapshot.bulk import BulkInserter
from storage.snapshot.fields import FORMAT, ORDER, SPECS, VERSION, RecordSpec
from storage.snapshot.reader import (
    CountingReader,
    Item,
    MalformedJSON,
    Scalar,
    SectionEnd,
    SectionStart,
    Whole,
    read_events,
)
from storage.snapshot.tables import ACTIVITY_LINKS, SECTION_TABLES, SINGULAR, SectionTable
from storage.types import utc

DEFAULT_BATCH_SIZE = 2000
DEFAULT_MAX_PROBLEMS = 20
_FULL_GC_EVERY = 10
# Bound parameters per IN (...) list: well below SQLite's and PostgreSQL's limits.
_IN_CHUNK = 4096
_SEEN_TABLE = "salesbot_import_seen"
# Per-connection settings for the import's duration (restored afterwards).
_SQLITE_IMPORT_PRAGMAS = {"cache_size": -65536}

_ASSIGNMENTS: Table = Assignment.__table__  # type: ignore[assignment]
_DEAL_CONTACTS: Table = DealContact.__table__  # type: ignore[assignment]
_DEAL_SCORES: Table = DealScore.__table__  # type: ignore[assignment]
_TEAM_DIGESTS: Table = TeamDigestSettings.__table__  # type: ignore[assignment]
_TEAM_DIGEST_COLUMNS = ("digest_time", "digest_weekdays", "manager_digest_time")


def _team_digest_row(team_id: int, digest: dict[str, Any]) -> dict[str, Any]:
    return {
        "team_id": team_id,
        "digest_time": digest["time"],
        "digest_weekdays": sorted(digest["weekdays"]),
        "manager_digest_time": digest["manager_time"],
    }


_PIPELINES: Table = Pipeline.__table__  # type: ignore[assignment]
_STAGES: Table = PipelineStage.__table__  # type: ignore[assignment]
_WORKSPACE: Table = WorkspaceSettings.__table__  # type: ignore[assignment]
_OWNED_MODELS: dict[OwnedObject, type[Company | Contact | Lead | Deal | Activity]] = {
    OwnedObject.COMPANY: Company,
    OwnedObject.CONTACT: Contact,
    OwnedObject.LEAD: Lead,
    OwnedObject.DEAL: Deal,
    OwnedObject.ACTIVITY: Activity,
}
_SELF_REFS = ("follow_up_of", "in_reply_to")
_HISTORY_COLUMNS = ("object_type", "object_id", "owner_id", "assigned_at")
# The biggest tables (most rows, most indexes): their secondary indexes are built after
# they are filled when they start empty (see _Importer._defer_indexes).
_DEFERRED_INDEX_TABLES: dict[str, tuple[Table, ...]] = {
    "activities": (
        SECTION_TABLES["activities"].table,
        *(link for link, _ in ACTIVITY_LINKS.values()),
    ),
}


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
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


def _record_key(section: str, values: dict[str, Any]) -> tuple[str, str]:
    """A record's upsert key as one string, and how to name it in a message."""
    if section == "pipelines":
        kind = values["object_type"].value
        return f"{kind}|{values['id']}", f"{kind} pipeline {values['id']!r}"
    if section == "goals":
        return (
            f"{values['user']}|{values['metric'].value}",
            f"goal {values['metric'].value!r} for user {values['user']!r}",
        )
    if section == "user_preferences":
        return values["user"], f"preferences for user {values['user']!r}"
    return values["id"], f"id {values['id']!r}"


@dataclass(frozen=True)
class Problem:
    """Something wrong in the file, located by record and field."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SnapshotError(Exception):
    """The file was refused; nothing was written.

    Attributes:
        problems: what is wrong, at most ``max_problems`` of them.
        stopped_early: reading stopped at the limit; the file may hold more problems.
    """

    def __init__(self, problems: list[Problem], *, stopped_early: bool = False) -> None:
        self.problems = problems
        self.stopped_early = stopped_early
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class SectionCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass
class ImportReport:
    """What an import did.

    Attributes:
        sections: per section (JSON key), how many records were inserted, updated or
            already up to date.
        rows_written: table rows inserted or updated, associations and history included.
    """

    sections: dict[str, SectionCounts] = field(default_factory=dict)
    rows_written: int = 0


class _Stop(Exception):
    """Enough problems collected, or one that makes reading on pointless."""


@dataclass(slots=True)
class _Record:
    index: int
    values: dict[str, Any]
    row: dict[str, Any]
    history: list[tuple[int | None, datetime]] = field(default_factory=list)
    links: dict[str, list[int]] = field(default_factory=dict)
    deal_contacts: dict[int, datetime | None] = field(default_factory=dict)
    scores: dict[datetime, int] = field(default_factory=dict)
    # Activities naming activities not written yet: (field, external id).
    pending: list[tuple[str, str]] = field(default_factory=list)
    owner_given_at: bool = False


def import_snapshot(
    engine: Engine,
    source: Path | BinaryIO,
    *,
    now: datetime,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_problems: int = DEFAULT_MAX_PROBLEMS,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert every record of a snapshot file into the database, or nothing at all.

    Args:
        engine: the database (schema at head).
        source: a path or a binary file object with the JSON snapshot.
        now: the time recorded for owner changes that the file gives no time for.
        batch_size: records per executemany batch.
        max_problems: stop reading after this many problems.
        on_progress: called now and then with the number of bytes read so far.

    Returns:
        Per-section counts of inserted, updated and unchanged records.

    Raises:
        SnapshotError: the file has problems (each names the record and the field);
            the transaction was rolled back and the database is unchanged.
    """
    now = utc(now)
    if isinstance(source, Path):
        with source.open("rb") as stream:
            return _run(engine, stream, now, batch_size, max_problems, on_progress)
    return _run(engine, source, now, batch_size, max_problems, on_progress)


def _run(
    engine: Engine,
    stream: BinaryIO,
    now: datetime,
    batch_size: int,
    max_problems: int,
    on_progress: Callable[[int], None] | None,
) -> ImportReport:
    reader = CountingReader(stream)
    with _fewer_gc_passes(), Session(engine, autoflush=False, expire_on_commit=False) as session:
        importer = _Importer(session, now, batch_size, max_problems)
        try:
            return _import(session, importer, reader, max_problems, on_progress)
        except BaseException:
            with suppress(SQLAlchemyError):
                importer.restore_settings()
            raise


def _import(
    session: Session,
    importer: _Importer,
    reader: CountingReader,
    max_problems: int,
    on_progress: Callable[[int], None] | None,
) -> ImportReport:
    try:
        importer.read(reader, on_progress)
    except _Stop:
        pass
    except MalformedJSON as error:
        importer.problems.append(Problem(error.path, error.message))
    except SQLAlchemyError as error:
        # Checks should have caught it; if not, refuse the file all the same.
        importer.problems.append(
            Problem(
                importer.location,
                f"the database refused the data: {getattr(error, 'orig', error)}",
            )
        )
    # Before the transaction ends: afterwards the connection is back in the pool.
    importer.restore_settings()
    if importer.problems:
        session.rollback()
        raise SnapshotError(
            importer.problems[:max_problems],
            stopped_early=len(importer.problems) >= max_problems,
        )
    importer.finish()
    session.commit()
    return importer.report


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """Run the cyclic GC less often while importing.

    An import allocates millions of short-lived, acyclic dicts and tuples (freed by
    reference counting); with the default thresholds the collector's passes over them
    cost about a third of the import's time.
    """
    # The few reference cycles each batch leaves (driver and result objects holding
    # fetched rows) are collected by a full pass every _FULL_GC_EVERY batches instead,
    # which keeps memory flat for a few milliseconds each.
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 100_000), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


class _Importer:
    def __init__(self, session: Session, now: datetime, batch_size: int, max_problems: int):
        self.session = session
        self.conn: Connection = session.connection()
        self.now = now
        self.batch_size = batch_size
        self.max_problems = max_problems
        self.problems: list[Problem] = []
        self.report = ImportReport()
        self.location = "file"
        self._small: dict[str, dict[str, int]] = {}
        self._user_emails: dict[str, tuple[str, str]] | None = None
        self._user_slack_ids: dict[str, tuple[str, str]] | None = None
        self._pipelines: dict[tuple[PipelineObject, str], int] | None = None
        self._stages: dict[int, dict[str, int]] = {}
        self._pending: list[tuple[int, str, str, str]] = []
        self._position = -1
        self._seen_sections: set[str] = set()
        self._header: dict[str, Any] = {}
        self._defaults_checked = False
        self._seen_ready = False
        self._seen_keys: dict[str, set[str]] = {}
        self._first_new: dict[str, int] = {}
        self.bulk = BulkInserter(self.conn)
        if self.conn.dialect.name == "postgresql":
            # Tables filled by this transaction have no planner statistics yet, so each
            # batch's lookup by (indexed) external id would be planned as a sequential scan:
            # quadratic in the file's size. Lookups here are all by indexed columns.
            self.conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        self._saved_pragmas: dict[str, Any] = {}
        self._deferred_indexes: list[Index] = []
        self._deferral_checked: set[str] = set()
        if self.conn.dialect.name == "sqlite":
            # SQLite's default 2 MiB page cache makes index upkeep on big tables re-read
            # pages over and over; a fixed larger cache keeps memory bounded all the same.
            # Durability settings are left alone: the import stays one safe transaction.
            for name, value in _SQLITE_IMPORT_PRAGMAS.items():
                self._saved_pragmas[name] = self.conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                self.conn.exec_driver_sql(f"PRAGMA {name} = {value}")

    # Problems ------------------------------------------------------------------------

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))
        if len(self.problems) >= self.max_problems:
            raise _Stop

    def fatal(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))
        raise _Stop

    # Reading -------------------------------------------------------------------------

    def read(self, reader: CountingReader, on_progress: Callable[[int], None] | None) -> None:
        batch: list[tuple[int, Any]] = []
        batches = 0
        skipping = False
        for event in read_events(reader):
            if isinstance(event, Item):
                if skipping:
                    continue
                batch.append((event.index, event.value))
                if len(batch) >= self.batch_size:
                    self._batch(event.key, batch)
                    batch = []
                    batches += 1
                    if batches % _FULL_GC_EVERY == 0:
                        gc.collect()
                    if on_progress is not None:
                        on_progress(reader.bytes_read)
            elif isinstance(event, SectionStart):
                skipping = not self._enter(event.key, is_array=True)
            elif isinstance(event, SectionEnd):
                if not skipping:
                    if batch:
                        self._batch(event.key, batch)
                        batch = []
                    self._section_done(event.key)
                if on_progress is not None:
                    on_progress(reader.bytes_read)
            elif isinstance(event, Scalar):
                self._scalar(event.key, event.value)
            elif isinstance(event, Whole) and self._enter(event.key, is_array=False):
                self._workspace(event.value)
        if "format" not in self._header or "version" not in self._header:
            self.fatal("format", 'missing: a snapshot starts with "format" and "version"')
        self._pipelines_position_passed()

    def _scalar(self, key: str, value: Any) -> None:
        if key not in ("format", "version", "exported_at"):
            self._enter(key, is_array=False)
            return
        if key in self._header:
            self.fatal(key, "appears twice")
        self._header[key] = value
        if key == "format" and value != FORMAT:
            self.fatal("format", f"expected {FORMAT!r}, got {value!r}: not a salesbot snapshot")
        if key == "version" and (
            isinstance(value, bool) or not isinstance(value, int) or value != VERSION
        ):
            self.fatal(
                "version", f"unsupported version {value!r} (this salesbot reads version {VERSION})"
            )

    def _enter(self, key: str, *, is_array: bool) -> bool:
        """Check a top-level member's name, place and shape; False: skip its content."""
        self.location = key
        if key not in ORDER or key in ("format", "version", "exported_at"):
            if key in ("format", "version", "exported_at"):
                self.problem(key, "expected a plain value")
            else:
                self.problem(key, f"unknown top-level key (known: {', '.join(ORDER)})")
            return False
        if "format" not in self._header or "version" not in self._header:
            self.fatal("format", 'missing: a snapshot starts with "format" and "version"')
        if key in self._seen_sections:
            self.fatal(key, "appears twice")
        position = ORDER.index(key)
        if position < self._position:
            self.fatal(key, f"out of order: sections come in the order {', '.join(ORDER[3:])}")
        self._position = position
        self._seen_sections.add(key)
        if position > ORDER.index("pipelines"):
            self._pipelines_position_passed()
        if key == "workspace_settings":
            if is_array:
                self.problem(key, "expected an object")
                return False
            return True
        if not is_array:
            self.problem(key, "expected an array")
            return False
        return True

    def _pipelines_position_passed(self) -> None:
        """A file without pipelines gets HubSpot's defaults when the database has none."""
        if self._defaults_checked:
            return
        self._defaults_checked = True
        if "pipelines" in self._seen_sections:
            return
        if self.conn.scalar(select(func.count()).select_from(_PIPELINES)) == 0:
            ensure_default_pipelines(self.session)
            self.session.flush()
            self._pipelines = None
            self._counts("pipelines").inserted += 2

    def _counts(self, section: str) -> SectionCounts:
        return self.report.sections.setdefault(section, SectionCounts())

    # Lookups -------------------------------------------------------------------------

    def _small_ids(self, section: str) -> dict[str, int]:
        ids = self._small.get(section)
        if ids is None:
            table = SECTION_TABLES[section].table
            ids = dict(self.conn.execute(select(table.c.external_id, table.c.id)).all())
            self._small[section] = ids
        return ids

    def _ids(self, section: str, external_ids: Iterable[str]) -> dict[str, int]:
        """External id -> row id for those of ``external_ids`` that exist."""
        if SECTION_TABLES[section].small:
            return self._small_ids(section)
        table = SECTION_TABLES[section].table
        found: dict[str, int] = {}
        wanted = list(set(external_ids))
        # Plain SQL: this runs a few times per batch and SQLAlchemy's IN expansion costs
        # more than the lookup itself.
        marker = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
        for chunk in _chunks(wanted):
            sql = (
                f"SELECT external_id, id FROM {table.name} "
                f"WHERE external_id IN ({', '.join([marker] * len(chunk))})"
            )
            found.update(self.conn.exec_driver_sql(sql, tuple(chunk)).all())
        return found

    def _pipeline_ids(self) -> dict[tuple[PipelineObject, str], int]:
        if self._pipelines is None:
            rows = self.conn.execute(
                select(_PIPELINES.c.object_type, _PIPELINES.c.external_id, _PIPELINES.c.id)
            )
            self._pipelines = {(kind, ext): pid for kind, ext, pid in rows}
            self._stages = defaultdict(dict)
            for pipeline_id, ext, sid in self.conn.execute(
                select(_STAGES.c.pipeline_id, _STAGES.c.external_id, _STAGES.c.id)
            ):
                self._stages[pipeline_id][ext] = sid
        return self._pipelines

    def _first_new_id(self, table: SectionTable) -> int:
        """Row ids from this one on were inserted by this import (ids only grow)."""
        first = self._first_new.get(table.section)
        if first is None:
            highest = self.conn.scalar(select(func.max(table.table.c.id)))
            first = self._first_new[table.section] = (highest or 0) + 1
        return first

    def _touched_before(self, section: str, row_ids: list[int]) -> set[int]:
        """Which of these pre-existing rows an earlier record of the file already named.

        Kept in a temporary table, not in memory: a re-import names every row.
        """
        if not row_ids:
            return set()
        marker = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
        if not self._seen_ready:
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_SEEN_TABLE}")
            self.conn.exec_driver_sql(
                f"CREATE TEMPORARY TABLE {_SEEN_TABLE} (section VARCHAR(40) NOT NULL, "
                "row_id INTEGER NOT NULL, PRIMARY KEY (section, row_id))"
            )
            self._seen_ready = True
        earlier: set[int] = set()
        for chunk in _chunks(row_ids):
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

    def finish(self) -> None:
        self._build_deferred_indexes()
        if self._seen_ready:
            self.conn.execute(text(f"DROP TABLE IF EXISTS {_SEEN_TABLE}"))

    def _defer_indexes(self, section: str) -> None:
        """On SQLite, fill an empty table first and build its secondary indexes after.

        Building an index over a filled table sorts once; keeping six of them up to date
        row by row costs more than inserting the rows. Only for a table that is empty
        when its section starts (nothing looks rows up by these indexes meanwhile), and
        only inside an open transaction: SQLite's DDL is transactional, so a refused file
        rolls the dropped indexes back with everything else.
        """
        if section in self._deferral_checked or section not in _DEFERRED_INDEX_TABLES:
            return
        self._deferral_checked.add(section)
        if self.conn.dialect.name != "sqlite":
            return
        if not getattr(self.conn.connection.dbapi_connection, "in_transaction", False):
            return
        for table in _DEFERRED_INDEX_TABLES[section]:
            if self.conn.execute(select(1).select_from(table).limit(1)).first() is not None:
                continue
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                if not index.unique:
                    index.drop(self.conn)
                    self._deferred_indexes.append(index)

    def _build_deferred_indexes(self) -> None:
        if not self._deferred_indexes:
            return
        # SQLite's sorter takes as much memory again as the page cache allows: build with
        # the connection's own (small) cache so that peak memory stays flat.
        cache = self._saved_pragmas.get("cache_size")
        if cache is not None:
            self.conn.exec_driver_sql(f"PRAGMA cache_size = {int(cache)}")
        for index in self._deferred_indexes:
            index.create(self.conn)
        self._deferred_indexes = []
        if cache is not None:
            self.conn.exec_driver_sql(f"PRAGMA cache_size = {_SQLITE_IMPORT_PRAGMAS['cache_size']}")

    def restore_settings(self) -> None:
        """Give the pooled connection back with its own page cache size."""
        saved, self._saved_pragmas = self._saved_pragmas, {}
        for name, value in saved.items():
            self.conn.exec_driver_sql(f"PRAGMA {name} = {int(value)}")

    # Records -------------------------------------------------------------------------

    def _batch(self, section: str, items: list[tuple[int, Any]]) -> None:
        spec = SPECS[section]
        parsed: list[tuple[int, dict[str, Any]]] = []
        for index, raw in items:
            values, problems = spec.parse(raw)
            for name, message in problems:
                path = f"{section}[{index}]" + (f".{name}" if name else "")
                self.problem(path, message)
            if not problems:
                parsed.append((index, values))
        if section == "pipelines":
            self._write_pipelines(self._dedupe(section, parsed))
            return
        table = SECTION_TABLES[section]
        records = self._resolve(table, spec, self._dedupe(section, parsed))
        self._write(table, records)

    def _dedupe(
        self, section: str, parsed: list[tuple[int, dict[str, Any]]]
    ) -> list[tuple[int, dict[str, Any]]]:
        """Drop (and report) records named twice within the batch.

        Small keyed sections (pipelines, goals, preferences) remember every key; sections
        keyed by external id are checked against the database when written (``_write``).
        """
        remembers = section == "pipelines" or not SECTION_TABLES[section].by_external_id
        seen = self._seen_keys.setdefault(section, set()) if remembers else set()
        fresh = []
        for item in parsed:
            key, what = _record_key(section, item[1])
            if key in seen:
                self.problem(f"{section}[{item[0]}]", f"duplicate {what} in the file")
                continue
            seen.add(key)
            fresh.append(item)
        return fresh

    def _resolve(
        self, table: SectionTable, spec: RecordSpec, parsed: list[tuple[int, dict[str, Any]]]
    ) -> list[_Record]:
        """Turn checked values into rows: references become row ids, derived columns set."""
        section = table.section
        wanted: dict[str, set[str]] = defaultdict(set)
        ref_fields = [f for f in spec.fields if f.ref and f.ref not in ("pipelines", "stages")]
        for _, values in parsed:
            for f in ref_fields:
                value = values[f.name]
                if not value:
                    continue
                if f.name == "owner_history":
                    wanted["users"].update(e["owner"] for e in value if e["owner"])
                elif f.name == "contacts" and section == "deals":
                    wanted["contacts"].update(e["contact"] for e in value)
                elif isinstance(value, list):
                    wanted[f.ref].update(value)  # type: ignore[index]
                else:
                    wanted[f.ref].add(value)  # type: ignore[index]
        maps = {target: self._ids(target, ids) for target, ids in wanted.items()}

        plain = [(f.name, f.column) for f in spec.fields if f.column and not f.ref]
        refs = [
            (f.name, f.column, f.ref)
            for f in spec.fields
            if f.column and f.ref and f.ref not in ("pipelines", "stages")
        ]
        # One C-level pick of the plain fields per record (itemgetter gives a tuple if
        # asked for two or more names; every section has more than one plain column).
        pick = itemgetter(*(name for name, _ in plain))
        columns = [column for _, column in plain]
        records: list[_Record] = []
        for index, values in parsed:
            row = dict(zip(columns, pick(values), strict=True))
            record = _Record(index, values, row)
            ok = True
            for name, column, ref in refs:
                value = values[name]
                if value is None:
                    row[column] = None
                    continue
                found = maps[ref].get(value)
                if found is None:
                    if name in _SELF_REFS:
                        row[column] = None
                        record.pending.append((name, value))
                        continue
                    self.problem(
                        f"{section}[{index}].{name}",
                        f"unknown {SINGULAR[ref]} {value!r}",
                    )
                    ok = False
                    continue
                row[column] = found
            ok = self._resolve_special(table, record, maps, f"{section}[{index}]") and ok
            if ok:
                records.append(record)
        return records

    def _resolve_special(
        self, table: SectionTable, record: _Record, maps: dict[str, dict[str, int]], path: str
    ) -> bool:
        section, values, row = table.section, record.values, record.row
        ok = True
        if section in ("users", "contacts"):
            email = values["email"]
            row["email_domain"] = email.rsplit("@", 1)[1].lower() if email else None
        if section == "users":
            ok = self._unique_user_fields(values, path)
        if section in ("leads", "deals"):
            ok = self._resolve_stage(section, values, row, path)
        if section == "activities":
            if row["occurred_at"] is None:
                row["occurred_at"] = row["due_at"] or row["starts_at"] or row["created_at"]
            for name in ACTIVITY_LINKS:
                ids = []
                for ext in values[name]:
                    found = maps[name].get(ext)
                    if found is None:
                        self.problem(f"{path}.{name}", f"unknown {SINGULAR[name]} {ext!r}")
                        ok = False
                    else:
                        ids.append(found)
                record.links[name] = ids
        if section == "deals":
            for position, entry in enumerate(values["contacts"]):
                found = maps["contacts"].get(entry["contact"])
                if found is None:
                    self.problem(
                        f"{path}.contacts[{position}].contact",
                        f"unknown contact {entry['contact']!r}",
                    )
                    ok = False
                elif found in record.deal_contacts:
                    self.problem(f"{path}.contacts[{position}]", "lists the contact twice")
                    ok = False
                else:
                    record.deal_contacts[found] = entry["associated_at"]
            for position, entry in enumerate(values["scores"]):
                if entry["recorded_at"] in record.scores:
                    self.problem(
                        f"{path}.scores[{position}].recorded_at", "two readings at the same time"
                    )
                    ok = False
                record.scores[entry["recorded_at"]] = entry["score"]
        if table.owned is not None:
            for position, entry in enumerate(values["owner_history"]):
                owner = entry["owner"]
                owner_id = None
                if owner is not None:
                    owner_id = maps["users"].get(owner)
                    if owner_id is None:
                        self.problem(
                            f"{path}.owner_history[{position}].owner", f"unknown user {owner!r}"
                        )
                        ok = False
                        continue
                record.history.append((owner_id, entry["assigned_at"]))
            if table.owned is not OwnedObject.ACTIVITY:
                record.owner_given_at = values["owner_assigned_at"] is not None
                if not record.owner_given_at:
                    row.pop("owner_assigned_at")
        return ok

    def _unique_user_fields(self, values: dict[str, Any], path: str) -> bool:
        """Emails (compared regardless of case) and Slack ids belong to one user each."""
        if self._user_emails is None:
            users = SECTION_TABLES["users"].table
            rows = self.conn.execute(
                select(users.c.external_id, users.c.email, users.c.slack_user_id)
            )
            self._user_emails, self._user_slack_ids = {}, {}
            for ext, email, slack in rows:
                self._user_emails[email.lower()] = (ext, email)
                if slack:
                    self._user_slack_ids[slack] = (ext, slack)
        assert self._user_slack_ids is not None
        ok = True
        for name, taken in (("email", self._user_emails), ("slack_user_id", self._user_slack_ids)):
            value = values[name]
            if value is None:
                continue
            key = value.lower() if name == "email" else value
            holder, theirs = taken.get(key, (None, None))
            if holder is not None and holder != values["id"]:
                also = f" (as {theirs!r}; emails are compared regardless of case)"
                self.problem(
                    f"{path}.{name}",
                    f"{value!r} already belongs to user {holder!r}"
                    + (also if theirs != value else ""),
                )
                ok = False
            else:
                taken[key] = (values["id"], value)
        return ok

    def _resolve_stage(
        self, section: str, values: dict[str, Any], row: dict[str, Any], path: str
    ) -> bool:
        kind = PipelineObject.DEAL if section == "deals" else PipelineObject.LEAD
        pipeline = values["pipeline"]
        pipeline_id = self._pipeline_ids().get((kind, pipeline))
        if pipeline_id is None:
            self.problem(f"{path}.pipeline", f"unknown {kind.value} pipeline {pipeline!r}")
            return False
        stage_id = self._stages[pipeline_id].get(values["stage"])
        if stage_id is None:
            self.problem(
                f"{path}.stage", f"unknown stage {values['stage']!r} in pipeline {pipeline!r}"
            )
            return False
        row["pipeline_id"], row["stage_id"] = pipeline_id, stage_id
        return True

    # Writing -------------------------------------------------------------------------

    def _existing(self, table: SectionTable, records: list[_Record]) -> dict[Any, dict[str, Any]]:
        """The current rows of these records, by key tuple."""
        lookup = table.key_columns[0]
        column = table.table.c[lookup]
        values = list({r.row[lookup] for r in records})
        found: dict[Any, dict[str, Any]] = {}
        for chunk in _chunks(values):
            for row in self.conn.execute(select(table.table).where(column.in_(chunk))).mappings():
                found[tuple(row[c] for c in table.key_columns)] = dict(row)
        return found

    def _write(self, table: SectionTable, records: list[_Record]) -> None:
        # Records are written even after a problem (the transaction is rolled back in the
        # end) so that later records naming them do not report false "unknown" ids.
        if not records:
            return
        self._defer_indexes(table.section)
        first_new = self._first_new_id(table) if table.by_external_id else 0
        existing = self._existing(table, records)
        if table.by_external_id:
            records = self._drop_repeated(table, records, existing, first_new)
        counts = self._counts(table.section)
        new: list[_Record] = []
        changed: list[tuple[_Record, dict[str, Any]]] = []
        owner_changes: list[tuple[int, int | None, datetime]] = []
        old_rows: dict[int, dict[str, Any]] = {}
        for record in records:
            key = tuple(record.row[c] for c in table.key_columns)
            current = existing.get(key)
            if current is None:
                self._initial_owner(table, record)
                new.append(record)
                continue
            pk = current[table.primary_key]
            old_rows[pk] = current
            row = record.row
            if table.owned is not None:
                # The assignment time is read only with a new owner; otherwise the stored
                # one stands (a stale time in the file must not undo a recorded change).
                given = row.pop("owner_assigned_at", None)
                if row["owner_id"] != current["owner_id"]:
                    at = self.now
                    if given is not None and given != current.get("owner_assigned_at"):
                        at = given
                    owner_changes.append((pk, row.pop("owner_id"), at))
            diff = {c: v for c, v in row.items() if current.get(c) != v}
            changed.append((record, {table.primary_key: pk, **diff}))
        self._insert(table, new)
        touched = self._update(table, changed, owner_changes)
        touched |= self._children(table, [r for r, _ in changed], old_rows)
        for record, _ in changed:
            if id(record) in touched:
                counts.updated += 1
            else:
                counts.unchanged += 1
        counts.inserted += len(new)
        if table.section == "activities":
            self._settle_pending(records)
        if table.small:
            self._small.pop(table.section, None)

    def _drop_repeated(
        self,
        table: SectionTable,
        records: list[_Record],
        existing: dict[Any, dict[str, Any]],
        first_new: int,
    ) -> list[_Record]:
        """Report records whose id an earlier batch of the file already wrote."""
        current_ids = {
            record.index: existing[(record.row["external_id"],)]["id"]
            for record in records
            if (record.row["external_id"],) in existing
        }
        named_before = self._touched_before(
            table.section, [i for i in current_ids.values() if i < first_new]
        )
        kept = []
        for record in records:
            row_id = current_ids.get(record.index)
            if row_id is not None and (row_id >= first_new or row_id in named_before):
                self.problem(
                    f"{table.section}[{record.index}]",
                    f"duplicate id {record.values['id']!r} in the file",
                )
                continue
            kept.append(record)
        return kept

    def _initial_owner(self, table: SectionTable, record: _Record) -> None:
        """A new owned record starts with its owner in the history, as assign() would."""
        if table.owned is None or table.owned is OwnedObject.ACTIVITY:
            return
        row = record.row
        owner = row["owner_id"]
        if owner is None:
            row.setdefault("owner_assigned_at", None)
            return
        if not record.owner_given_at:
            # The latest history entry for this owner says when it was assigned.
            same = [at for who, at in record.history if who == owner]
            row["owner_assigned_at"] = max(same) if same else self.now
        entry = (owner, row["owner_assigned_at"])
        if entry not in record.history:
            record.history.append(entry)

    def _insert(self, table: SectionTable, new: list[_Record]) -> None:
        if not new:
            return
        self.report.rows_written += self.bulk.insert(table.table, [r.row for r in new])
        if not table.by_external_id:
            return
        ids = self._ids(table.section, [r.row["external_id"] for r in new])
        if table.small:
            self._small.pop(table.section, None)
            ids = self._small_ids(table.section)
        history: list[tuple[Any, ...]] = []
        scores: list[tuple[Any, ...]] = []
        deal_contacts: list[tuple[Any, ...]] = []
        links: dict[str, list[tuple[int, int]]] = defaultdict(list)
        owned = table.owned
        for record in new:
            pk = ids[record.row["external_id"]]
            record.row["id"] = pk
            if owned is not None:
                history += [(owned, pk, o, a) for o, a in dict.fromkeys(record.history)]
            if record.scores:
                scores += [(pk, at, s) for at, s in record.scores.items()]
            if record.deal_contacts:
                deal_contacts += [(pk, c, at) for c, at in record.deal_contacts.items()]
            for name, targets in record.links.items():
                if targets:
                    links[name] += [(pk, t) for t in targets]
        if table.section == "teams":
            self.report.rows_written += self.bulk.insert(
                _TEAM_DIGESTS,
                [
                    _team_digest_row(r.row["id"], r.values["digest"])
                    for r in new
                    if r.values["digest"]
                ],
            )
        insert = self.bulk.insert_tuples
        written = insert(_ASSIGNMENTS, _HISTORY_COLUMNS, history)
        written += insert(_DEAL_SCORES, ("deal_id", "recorded_at", "score"), scores)
        written += insert(_DEAL_CONTACTS, ("deal_id", "contact_id", "associated_at"), deal_contacts)
        for name, rows in links.items():
            link, column = ACTIVITY_LINKS[name]
            written += insert(link, ("activity_id", column), rows)
        self.report.rows_written += written

    def _execute(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(statement, rows)
            self.report.rows_written += len(rows)

    def _update(
        self,
        table: SectionTable,
        changed: list[tuple[_Record, dict[str, Any]]],
        owner_changes: list[tuple[int, int | None, datetime]],
    ) -> set[int]:
        """Write changed columns (grouped by which columns changed); return touched records."""
        touched: set[int] = set()
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        pk_name = table.primary_key
        for record, diff in changed:
            record.row["id" if pk_name == "id" else pk_name] = diff[pk_name]
            columns = tuple(sorted(c for c in diff if c != pk_name))
            if columns:
                touched.add(id(record))
                groups[columns].append(
                    {"_pk": diff[pk_name], **{f"_v_{c}": diff[c] for c in columns}}
                )
        for columns, rows in groups.items():
            statement = (
                table.table.update()
                .where(table.table.c[pk_name] == bindparam("_pk"))
                .values({c: bindparam(f"_v_{c}") for c in columns})
            )
            self._execute(statement, rows)
        if owner_changes:
            assert table.owned is not None
            model = _OWNED_MODELS[table.owned]
            by_pk = {diff[pk_name]: record for record, diff in changed}
            for pk, owner_id, at in owner_changes:
                obj = self.session.get(model, pk, populate_existing=True)
                assert isinstance(obj, Company | Contact | Lead | Deal | Activity)
                if assign(self.session, obj, owner_id, at=at):
                    touched.add(id(by_pk[pk]))
                    self.report.rows_written += 2
            self.session.flush()
            self.session.expunge_all()
        return touched

    def _children(
        self, table: SectionTable, records: list[_Record], old_rows: dict[int, dict[str, Any]]
    ) -> set[int]:
        """Bring associations, scores and history of existing records in line with the file."""
        touched: set[int] = set()
        if not records:
            return touched
        ids = [r.row["id"] for r in records if "id" in r.row]
        if table.owned is not None:
            have = self._grouped(
                select(
                    _ASSIGNMENTS.c.object_id, _ASSIGNMENTS.c.owner_id, _ASSIGNMENTS.c.assigned_at
                )
                .where(_ASSIGNMENTS.c.object_type == table.owned)
                .where(_ASSIGNMENTS.c.object_id.in_(bindparam("ids", expanding=True))),
                ids,
            )
            rows = []
            for record in records:
                known = {(o, a) for o, a in have.get(record.row["id"], [])}
                missing = [e for e in dict.fromkeys(record.history) if e not in known]
                if missing:
                    touched.add(id(record))
                    rows += [
                        {
                            "object_type": table.owned,
                            "object_id": record.row["id"],
                            "owner_id": o,
                            "assigned_at": a,
                        }
                        for o, a in missing
                    ]
            self.report.rows_written += self.bulk.insert(_ASSIGNMENTS, rows)
        if table.section == "deals":
            touched |= self._deal_children(records, ids)
        if table.section == "activities":
            touched |= self._activity_links(records, ids)
        if table.section == "teams":
            touched |= self._team_digests(records, ids)
        return touched

    def _team_digests(self, records: list[_Record], ids: list[int]) -> set[int]:
        """Replace each team's digest schedule where the file's differs (null: none)."""
        have: dict[int, dict[str, Any]] = {}
        for chunk in _chunks(ids):
            for row in self.conn.execute(
                select(_TEAM_DIGESTS).where(_TEAM_DIGESTS.c.team_id.in_(chunk))
            ).mappings():
                have[row["team_id"]] = _team_digest_row(
                    row["team_id"],
                    {
                        "time": row["digest_time"],
                        "weekdays": row["digest_weekdays"],
                        "manager_time": row["manager_digest_time"],
                    },
                )
        touched: set[int] = set()
        stale: list[int] = []
        fresh: list[dict[str, Any]] = []
        for record in records:
            team_id, digest = record.row["id"], record.values["digest"]
            wanted = _team_digest_row(team_id, digest) if digest else None
            current = have.get(team_id)
            if current == wanted:
                continue
            touched.add(id(record))
            if current is not None:
                stale.append(team_id)
            if wanted is not None:
                fresh.append(wanted)
        if stale:
            self.conn.execute(delete(_TEAM_DIGESTS).where(_TEAM_DIGESTS.c.team_id.in_(stale)))
        self.report.rows_written += len(stale) + self.bulk.insert(_TEAM_DIGESTS, fresh)
        return touched

    def _grouped(self, query: Any, ids: list[int]) -> dict[int, list[tuple[Any, ...]]]:
        grouped: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for chunk in _chunks(ids):
            for first, *rest in self.conn.execute(query, {"ids": chunk}):
                grouped[first].append(tuple(rest))
        return grouped

    def _deal_children(self, records: list[_Record], ids: list[int]) -> set[int]:
        touched: set[int] = set()
        contacts = self._grouped(
            select(
                _DEAL_CONTACTS.c.deal_id,
                _DEAL_CONTACTS.c.contact_id,
                _DEAL_CONTACTS.c.associated_at,
            ).where(_DEAL_CONTACTS.c.deal_id.in_(bindparam("ids", expanding=True))),
            ids,
        )
        scores = self._grouped(
            select(_DEAL_SCORES.c.deal_id, _DEAL_SCORES.c.recorded_at, _DEAL_SCORES.c.score).where(
                _DEAL_SCORES.c.deal_id.in_(bindparam("ids", expanding=True))
            ),
            ids,
        )
        replace, add, correct = [], [], []
        for record in records:
            deal_id = record.row["id"]
            if dict(contacts.get(deal_id, [])) != record.deal_contacts:
                touched.add(id(record))
                replace.append(deal_id)
                add += [
                    {"deal_id": deal_id, "contact_id": c, "associated_at": at}
                    for c, at in record.deal_contacts.items()
                ]
            known = dict(scores.get(deal_id, []))
            for at, score in record.scores.items():
                if at not in known:
                    touched.add(id(record))
                    correct.append(("new", {"deal_id": deal_id, "recorded_at": at, "score": score}))
                elif known[at] != score:
                    touched.add(id(record))
                    correct.append(("fix", {"_deal": deal_id, "_at": at, "_score": score}))
        for chunk in _chunks(replace):
            self.conn.execute(delete(_DEAL_CONTACTS).where(_DEAL_CONTACTS.c.deal_id.in_(chunk)))
        self.report.rows_written += self.bulk.insert(_DEAL_CONTACTS, add)
        self.report.rows_written += self.bulk.insert(
            _DEAL_SCORES, [row for kind, row in correct if kind == "new"]
        )
        self._execute(
            _DEAL_SCORES.update()
            .where(_DEAL_SCORES.c.deal_id == bindparam("_deal"))
            .where(_DEAL_SCORES.c.recorded_at == bindparam("_at"))
            .values(score=bindparam("_score")),
            [row for kind, row in correct if kind == "fix"],
        )
        return touched

    def _activity_links(self, records: list[_Record], ids: list[int]) -> set[int]:
        touched: set[int] = set()
        for name, (link, column) in ACTIVITY_LINKS.items():
            have = self._grouped(
                select(link.c.activity_id, link.c[column]).where(
                    link.c.activity_id.in_(bindparam("ids", expanding=True))
                ),
                ids,
            )
            replace, add = [], []
            for record in records:
                activity_id = record.row["id"]
                wanted = set(record.links[name])
                if {t for (t,) in have.get(activity_id, [])} != wanted:
                    touched.add(id(record))
                    replace.append(activity_id)
                    add += [{"activity_id": activity_id, column: t} for t in wanted]
            for chunk in _chunks(replace):
                self.conn.execute(delete(link).where(link.c.activity_id.in_(chunk)))
            self.report.rows_written += self.bulk.insert(link, add)
        return touched

    # Activities naming activities ----------------------------------------------------

    def _settle_pending(self, records: list[_Record]) -> None:
        """Point follow_up_of / in_reply_to at activities written in this batch."""
        waiting = [r for r in records if r.pending]
        if not waiting:
            return
        found = self._ids("activities", [t for r in waiting for _, t in r.pending])
        fixes: list[dict[str, Any]] = []
        for record in waiting:
            for name, target in record.pending:
                if target in found:
                    fixes.append({"_pk": record.row["id"], "_name": name, "_to": found[target]})
                else:
                    self._pending.append((record.index, record.values["id"], name, target))
        self._fix_self_refs(fixes)

    def _fix_self_refs(self, fixes: list[dict[str, Any]]) -> None:
        table = SECTION_TABLES["activities"].table
        for name in _SELF_REFS:
            rows = [{"_pk": f["_pk"], "_to": f["_to"]} for f in fixes if f["_name"] == name]
            self._execute(
                table.update()
                .where(table.c.id == bindparam("_pk"))
                .values({f"{name}_id": bindparam("_to")}),
                rows,
            )

    def _section_done(self, section: str) -> None:
        self._build_deferred_indexes()
        if section != "activities" or not self._pending:
            return
        found = self._ids("activities", [t for *_, t in self._pending])
        own = self._ids("activities", [ext for _, ext, *_ in self._pending])
        fixes = []
        for index, ext, name, target in self._pending:
            if target not in found:
                self.problem(f"activities[{index}].{name}", f"unknown activity {target!r}")
            elif ext in own:
                fixes.append({"_pk": own[ext], "_name": name, "_to": found[target]})
        self._pending = []
        self._fix_self_refs(fixes)

    # Pipelines and workspace settings (a handful of rows) ----------------------------

    def _write_pipelines(self, parsed: list[tuple[int, dict[str, Any]]]) -> None:
        counts = self._counts("pipelines")
        known = self._pipeline_ids()
        for index, values in parsed:
            path = f"pipelines[{index}]"
            stage_ids = [s["id"] for s in values["stages"]]
            if len(set(stage_ids)) != len(stage_ids):
                self.problem(f"{path}.stages", "two stages with the same id")
                continue
            kind, ext = values["object_type"], values["id"]
            pipeline_id = known.get((kind, ext))
            touched = False
            is_new = pipeline_id is None
            if pipeline_id is None:
                pipeline_id = self.conn.execute(
                    insert(_PIPELINES)
                    .values(external_id=ext, object_type=kind, label=values["label"])
                    .returning(_PIPELINES.c.id)
                ).scalar_one()
                known[(kind, ext)] = pipeline_id
                counts.inserted += 1
                self.report.rows_written += 1
            else:
                label = self.conn.scalar(
                    select(_PIPELINES.c.label).where(_PIPELINES.c.id == pipeline_id)
                )
                if label != values["label"]:
                    self.conn.execute(
                        _PIPELINES.update()
                        .where(_PIPELINES.c.id == pipeline_id)
                        .values(label=values["label"])
                    )
                    touched = True
            current = {
                row["external_id"]: row
                for row in self.conn.execute(
                    select(_STAGES).where(_STAGES.c.pipeline_id == pipeline_id)
                ).mappings()
            }
            stage_map = self._stages.setdefault(pipeline_id, {})
            for order, stage in enumerate(values["stages"]):
                row = {
                    "label": stage["label"],
                    "display_order": order,
                    "state": stage["state"],
                    "probability": stage["probability"],
                }
                old = current.get(stage["id"])
                if old is None:
                    stage_map[stage["id"]] = self.conn.execute(
                        insert(_STAGES)
                        .values(pipeline_id=pipeline_id, external_id=stage["id"], **row)
                        .returning(_STAGES.c.id)
                    ).scalar_one()
                    touched = True
                    self.report.rows_written += 1
                elif any(old[c] != v for c, v in row.items()):
                    self.conn.execute(
                        _STAGES.update().where(_STAGES.c.id == old["id"]).values(**row)
                    )
                    touched = True
                    self.report.rows_written += 1
            if not is_new:
                if touched:
                    counts.updated += 1
                else:
                    counts.unchanged += 1

    def _workspace(self, raw: dict[str, Any]) -> None:
        values, problems = SPECS["workspace_settings"].parse(raw)
        for name, message in problems:
            self.problem(f"workspace_settings.{name}", message)
        if problems:
            return
        counts = self._counts("workspace_settings")
        current = (
            self.conn.execute(select(_WORKSPACE).where(_WORKSPACE.c.id == 1)).mappings().first()
        )
        if current is None:
            self.conn.execute(insert(_WORKSPACE).values(id=1, **values))
            counts.inserted += 1
        elif any(current[c] != v for c, v in values.items()):
            self.conn.execute(_WORKSPACE.update().where(_WORKSPACE.c.id == 1).values(**values))
            counts.updated += 1
        else:
            counts.unchanged += 1
            return
        self.report.rows_written += 1
