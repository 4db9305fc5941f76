"""Fixtures for snapshot tests: the documented example, file writers, database dumps."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from storage.db import make_engine
from storage.models import Base

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "snapshot-small.json"


@pytest.fixture
def example() -> dict[str, Any]:
    """The worked example of docs/import-format.md, as a dict to modify."""
    loaded: dict[str, Any] = json.loads(EXAMPLE.read_text("utf-8"))
    return loaded


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[Any], Path]:
    """Write a document (or raw bytes) to a fresh file and return its path."""
    counter = iter(range(1_000_000))

    def write(document: Any) -> Path:
        path = tmp_path / f"snapshot-{next(counter)}.json"
        if isinstance(document, bytes):
            path.write_bytes(document)
        else:
            path.write_text(json.dumps(document), "utf-8")
        return path

    return write


@pytest.fixture
def empty_sqlite_engine(_sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """A second, empty migrated SQLite database (to import an export into)."""
    path = tmp_path / "empty.sqlite3"
    shutil.copyfile(_sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def dump(engine: Engine) -> dict[str, list[tuple[tuple[str, Any], ...]]]:
    """Every row of every table, with row ids replaced by the external ids they stand for.

    Two databases holding the same data dump equal even if their row ids differ.
    """
    tables = Base.metadata.tables
    with engine.connect() as conn:
        raw = {
            name: [dict(row) for row in conn.execute(select(table)).mappings()]
            for name, table in tables.items()
        }

    def natural(table_name: str, row: dict[str, Any]) -> Any:
        if table_name == "pipelines":
            return (str(row["object_type"]), row["external_id"])
        if table_name == "pipeline_stages":
            return (
                natural("pipelines", by_id["pipelines"][row["pipeline_id"]]),
                row["external_id"],
            )
        if "external_id" in row:
            return row["external_id"]
        return row.get("id")

    by_id = {name: {row["id"]: row for row in rows if "id" in row} for name, rows in raw.items()}
    owned_tables = {
        "company": "companies",
        "contact": "contacts",
        "lead": "leads",
        "deal": "deals",
        "activity": "activities",
    }

    def readable(name: str, column: Any, row: dict[str, Any]) -> Any:
        """The column's value with a row id replaced by what it stands for."""
        value = row[column.name]
        foreign = next(iter(column.foreign_keys), None)
        if foreign is not None and value is not None:
            target = foreign.column.table.name
            return natural(target, by_id[target][value])
        if column.name == "object_id" and name == "assignments":
            target = owned_tables[str(row["object_type"])]
            return natural(target, by_id[target][value])
        return str(value) if hasattr(value, "value") else value

    dumped: dict[str, list[tuple[tuple[str, Any], ...]]] = {}
    for name, table in tables.items():
        rows = []
        for row in raw[name]:
            out = {
                column.name: readable(name, column, row)
                for column in table.columns
                if column.name != "id" or name == "workspace_settings"
            }
            rows.append(tuple(sorted(out.items())))
        dumped[name] = sorted(rows, key=repr)
    return dumped


def row_counts(engine: Engine) -> dict[str, int]:
    return {name: len(rows) for name, rows in dump(engine).items()}
