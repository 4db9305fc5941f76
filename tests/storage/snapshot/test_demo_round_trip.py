"""The demo organisation survives export and import unchanged: the format covers it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from demo import build_demo_org
from storage.snapshot import export_snapshot, import_snapshot
from tests.storage.snapshot.conftest import dump

# What the app itself records (actions, insights, Slack receipts): not CRM data, not in a
# snapshot.
APP_STATE = {
    "guided_actions",
    "guided_action_items",
    "guided_action_feedback",
    "insight_cache",
    "insight_feedback",
    "insight_requests",
    "slack_receipts",
}


def test_the_demo_exports_and_imports_into_an_empty_database_unchanged(
    sqlite_engine: Engine, empty_sqlite_engine: Engine, now: datetime, tmp_path: Path
) -> None:
    with Session(sqlite_engine) as session:
        build_demo_org(session, now=now)
        session.commit()
    exported = tmp_path / "demo.json"

    export_snapshot(sqlite_engine, exported, now=now)
    import_snapshot(empty_sqlite_engine, exported, now=now + timedelta(days=1))
    again = import_snapshot(sqlite_engine, exported, now=now + timedelta(days=1))

    source = {n: rows for n, rows in dump(sqlite_engine).items() if n not in APP_STATE}
    copied = {n: rows for n, rows in dump(empty_sqlite_engine).items() if n not in APP_STATE}
    assert all(source[n] for n in ("activities", "activity_contacts", "assignments", "deals"))
    assert copied == source
    assert again.rows_written == 0
