"""Importing a snapshot: stream, check, upsert by external id, all in one transaction.

Records are read one at a time (``reader``), checked (``layout``, ``validation``), turned
into rows (``resolve``) and written in batches (``upsert``, ``links``, ``small_sections``)
with Core ``executemany`` statements. Any problem is collected (up to ``max_problems``) and
the whole transaction is rolled back: a file with an error writes nothing.

``import_records`` takes the same sections as Python values (the HubSpot sync's way in):
the same steps, without writing a file and reading it back.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage.snapshot.fields import FORMAT, SPECS, VERSION
from storage.snapshot.job import Job
from storage.snapshot.layout import Layout
from storage.snapshot.links import SelfReferences
from storage.snapshot.outcome import ImportReport, Problem, Stop
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
from storage.snapshot.resolve import Resolver
from storage.snapshot.small_sections import (
    default_pipelines_if_none,
    write_pipelines,
    write_workspace,
)
from storage.snapshot.tables import SECTION_TABLES
from storage.snapshot.tuning import FULL_GC_EVERY, fewer_gc_passes
from storage.snapshot.upsert import Upsert
from storage.snapshot.validation import Duplicates
from storage.types import utc

DEFAULT_BATCH_SIZE = 2000
DEFAULT_MAX_PROBLEMS = 20

Progress = Callable[[int], None]


def import_snapshot(
    engine: Engine,
    source: Path | BinaryIO,
    *,
    now: datetime,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_problems: int = DEFAULT_MAX_PROBLEMS,
    on_progress: Progress | None = None,
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
            return import_snapshot(
                engine,
                stream,
                now=now,
                batch_size=batch_size,
                max_problems=max_problems,
                on_progress=on_progress,
            )
    reader = CountingReader(source)
    return _run(
        engine, now, batch_size, max_problems, lambda importer: importer.read(reader, on_progress)
    )


def import_records(
    engine: Engine,
    sections: Mapping[str, Any],
    *,
    now: datetime,
    checked: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_problems: int = DEFAULT_MAX_PROBLEMS,
) -> ImportReport:
    """``import_snapshot`` for sections held in memory: one transaction, all or nothing.

    Args:
        sections: a snapshot's members after its header, in the file's order: each
            section a list of records as a file holds them (JSON values: ids and times
            as strings).
        checked: every record is already what ``SPECS[section].parse`` made of it, with no
            problem (the caller checked it): it is not parsed again.

    Raises:
        SnapshotError: as ``import_snapshot``; nothing was written.
    """
    return _run(
        engine,
        utc(now),
        batch_size,
        max_problems,
        lambda importer: importer.take(sections, checked),
    )


def _run(
    engine: Engine,
    now: datetime,
    batch_size: int,
    max_problems: int,
    feed: Callable[[_Importer], None],
) -> ImportReport:
    with fewer_gc_passes(), Session(engine, autoflush=False, expire_on_commit=False) as session:
        job = Job.start(session, now, max_problems)
        try:
            return _import(job, batch_size, feed)
        except BaseException:
            with suppress(SQLAlchemyError):
                job.tuning.restore()
            raise


def _import(job: Job, batch_size: int, feed: Callable[[_Importer], None]) -> ImportReport:
    importer = _Importer(job, batch_size)
    try:
        feed(importer)
    except Stop:
        pass
    except MalformedJSON as error:
        job.problems.found.append(Problem(error.path, error.message))
    except SQLAlchemyError as error:
        # Checks should have caught it; if not, refuse the file all the same.
        job.problems.found.append(
            Problem(
                importer.layout.location,
                f"the database refused the data: {getattr(error, 'orig', error)}",
            )
        )
    # Before the transaction ends: afterwards the connection is back in the pool.
    job.tuning.restore()
    if job.problems.found:
        job.session.rollback()
        raise job.problems.refusal()
    job.tuning.build_deferred_indexes()
    job.ids.drop_seen()
    job.session.commit()
    return job.report


class _Importer:
    """Hands each event of the file to the step that handles it."""

    def __init__(self, job: Job, batch_size: int) -> None:
        self.job = job
        self.batch_size = batch_size
        self.layout = Layout(job.problems, past_pipelines=self._past_pipelines)
        self.duplicates = Duplicates(job.problems)
        self.resolver = Resolver(job)
        self.self_references = SelfReferences(job)
        self.upsert = Upsert(job, self.self_references)
        self._defaults_checked = False
        self._checked = False

    def read(self, reader: CountingReader, on_progress: Progress | None) -> None:
        """Read the whole file, writing each batch as it fills."""

        def progress() -> None:
            if on_progress is not None:
                on_progress(reader.bytes_read)

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
                    self._between_batches(batches)
                    progress()
            elif isinstance(event, SectionStart):
                skipping = not self.layout.enter(event.key, is_array=True)
            elif isinstance(event, SectionEnd):
                if not skipping:
                    self._section_end(event.key, batch)
                    batch = []
                progress()
            else:
                self._plain_member(event)
        self.layout.check_header()
        self._past_pipelines()

    def take(self, sections: Mapping[str, Any], checked: bool) -> None:
        """Import sections held in memory, batch by batch, as ``read`` would from a file."""
        self._checked = checked
        self.layout.scalar("format", FORMAT)
        self.layout.scalar("version", VERSION)
        batches = 0
        for section, records in sections.items():
            if not isinstance(records, list):
                self._plain_member(
                    Whole(section, records)
                    if isinstance(records, dict)
                    else Scalar(section, records)
                )
                continue
            if not self.layout.enter(section, is_array=True):
                continue
            items = list(enumerate(records))
            size = self.batch_size
            chunks = [items[start : start + size] for start in range(0, len(items), size)]
            for chunk in chunks[:-1]:
                self._batch(section, chunk)
                batches += 1
                self._between_batches(batches)
            self._section_end(section, chunks[-1] if chunks else [])
        self._past_pipelines()

    @staticmethod
    def _between_batches(batches: int) -> None:
        # See tuning.fewer_gc_passes: the few cycles a batch leaves are collected here.
        if batches % FULL_GC_EVERY == 0:
            gc.collect()

    def _plain_member(self, event: Scalar | Whole) -> None:
        """A top-level member that is not an array: the header, or workspace settings."""
        if isinstance(event, Scalar):
            self.layout.scalar(event.key, event.value)
        elif self.layout.enter(event.key, is_array=False):
            write_workspace(self.job, event.value)

    def _past_pipelines(self) -> None:
        """A file without pipelines gets HubSpot's defaults when the database has none."""
        if self._defaults_checked:
            return
        self._defaults_checked = True
        if "pipelines" not in self.layout.seen:
            default_pipelines_if_none(self.job)

    def _batch(self, section: str, items: list[tuple[int, Any]]) -> None:
        spec, problems = SPECS[section], self.job.problems
        parsed: list[tuple[int, dict[str, Any]]] = []
        if self._checked:
            parsed = items
        else:
            for index, raw in items:
                values, found = spec.parse(raw)
                for name, message in found:
                    problems.add(f"{section}[{index}]" + (f".{name}" if name else ""), message)
                if not found:
                    parsed.append((index, values))
        fresh = self.duplicates.drop(section, parsed)
        if section == "pipelines":
            write_pipelines(self.job, fresh)
            return
        table = SECTION_TABLES[section]
        self.upsert.write(table, self.resolver.resolve(table, fresh))

    def _section_end(self, section: str, batch: list[tuple[int, Any]]) -> None:
        """Write the section's last batch, then finish what waited for its end."""
        if batch:
            self._batch(section, batch)
        self.job.tuning.build_deferred_indexes()
        if section == "activities":
            self.self_references.finish()
