"""Database and interpreter settings that make a large import fast, and their undoing.

Each setting is for the import's duration only: the pooled connection goes back with its
own settings, and nothing here weakens durability (the import stays one transaction).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Index, Table, select

from storage.snapshot.tables import ACTIVITY_LINKS, SECTION_TABLES

# A full GC pass every this many batches (see fewer_gc_passes).
FULL_GC_EVERY = 10
# Per-connection settings for the import's duration (restored afterwards).
_SQLITE_IMPORT_PRAGMAS = {"cache_size": -65536}
# The biggest tables (most rows, most indexes): their secondary indexes are built after
# they are filled when they start empty (see Tuning.defer_indexes).
_DEFERRED_INDEX_TABLES: dict[str, tuple[Table, ...]] = {
    "activities": (
        SECTION_TABLES["activities"].table,
        *(link for link, _ in ACTIVITY_LINKS.values()),
    ),
}


@contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """Run the cyclic GC less often while importing.

    An import allocates millions of short-lived, acyclic dicts and tuples (freed by
    reference counting); with the default thresholds the collector's passes over them
    cost about a third of the import's time.
    """
    # The few reference cycles each batch leaves (driver and result objects holding
    # fetched rows) are collected by a full pass every FULL_GC_EVERY batches instead,
    # which keeps memory flat for a few milliseconds each.
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 100_000), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


class Tuning:
    """The import's connection settings: applied when made, undone by ``restore``."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._saved_pragmas: dict[str, Any] = {}
        self._deferred_indexes: list[Index] = []
        self._deferral_checked: set[str] = set()
        if conn.dialect.name == "postgresql":
            # Tables filled by this transaction have no planner statistics yet, so each
            # batch's lookup by (indexed) external id would be planned as a sequential scan:
            # quadratic in the file's size. Lookups here are all by indexed columns.
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        if conn.dialect.name == "sqlite":
            # SQLite's default 2 MiB page cache makes index upkeep on big tables re-read
            # pages over and over; a fixed larger cache keeps memory bounded all the same.
            # Durability settings are left alone: the import stays one safe transaction.
            for name, value in _SQLITE_IMPORT_PRAGMAS.items():
                self._saved_pragmas[name] = conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                conn.exec_driver_sql(f"PRAGMA {name} = {value}")

    def defer_indexes(self, section: str) -> None:
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

    def build_deferred_indexes(self) -> None:
        """Build the indexes ``defer_indexes`` dropped (at the end of their section)."""
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

    def restore(self) -> None:
        """Give the pooled connection back with its own page cache size."""
        saved, self._saved_pragmas = self._saved_pragmas, {}
        for name, value in saved.items():
            self.conn.exec_driver_sql(f"PRAGMA {name} = {int(value)}")
