"""Records handed over in memory (the HubSpot sync's way in) land as the same file would."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from storage.snapshot import SnapshotError, import_records, import_snapshot
from storage.snapshot.fields import SPECS
from tests.storage.snapshot.conftest import EXAMPLE, dump, row_counts

_HEADER = ("format", "version")


def _sections() -> dict[str, Any]:
    document = json.loads(EXAMPLE.read_text())
    return {k: v for k, v in document.items() if k not in _HEADER}


def test_in_memory_records_land_as_the_file_does(
    sqlite_engine: Engine, tmp_path: Any, now: datetime
) -> None:
    from storage.db import make_engine, upgrade

    from_file = make_engine(f"sqlite:///{tmp_path / 'file.sqlite3'}")
    upgrade(from_file)
    import_snapshot(from_file, EXAMPLE, now=now)

    import_records(sqlite_engine, _sections(), now=now)

    assert dump(sqlite_engine) == dump(from_file)
    from_file.dispose()


def test_checked_records_are_not_parsed_again_and_land_the_same(
    sqlite_engine: Engine, tmp_path: Any, now: datetime
) -> None:
    from storage.db import make_engine, upgrade

    from_file = make_engine(f"sqlite:///{tmp_path / 'file.sqlite3'}")
    upgrade(from_file)
    import_snapshot(from_file, EXAMPLE, now=now)
    checked: dict[str, Any] = {}
    for section, records in _sections().items():
        checked[section] = records
        if isinstance(records, list):
            checked[section] = []
            for record in records:
                values, problems = SPECS[section].parse(record)
                assert not problems
                checked[section].append(values)

    import_records(sqlite_engine, checked, now=now, checked=True)

    assert dump(sqlite_engine) == dump(from_file)
    from_file.dispose()


def test_a_bad_record_refuses_the_whole_import(sqlite_engine: Engine, now: datetime) -> None:
    sections = _sections()
    before = row_counts(sqlite_engine)
    sections["deals"][0]["amount"] = "a lot"

    with pytest.raises(SnapshotError) as refused:
        import_records(sqlite_engine, sections, now=now)

    assert "deals[0].amount" in [p.path for p in refused.value.problems]
    assert row_counts(sqlite_engine) == before
