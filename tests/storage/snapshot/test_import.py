"""Importing snapshots: a valid file lands, re-imports change nothing, updates update."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage.models import (
    Activity,
    Assignment,
    Contact,
    Deal,
    DealScore,
    OwnedObject,
    PipelineStage,
    User,
)
from storage.snapshot import SnapshotError, import_snapshot
from tests.storage.snapshot.conftest import EXAMPLE, dump, row_counts


def test_the_documented_example_imports(any_engine: Engine, now: datetime) -> None:
    report = import_snapshot(any_engine, EXAMPLE, now=now)

    assert report.sections["activities"].inserted == 7
    assert report.sections["users"].inserted == 3
    with Session(any_engine) as session:
        deal = session.scalar(select(Deal).where(Deal.external_id == "deal-1"))
        assert deal is not None
        assert deal.stage.external_id == "contractsent"
        assert deal.amount == Decimal("48000.50")
        assert [c.external_id for c in deal.contacts] == ["ct-1"]
        assert [s.score for s in deal.scores] == [71, 58]
        owner = session.get(User, deal.owner_id)
        assert owner is not None and owner.email == "jonas@seller.example"
        task = session.scalar(select(Activity).where(Activity.external_id == "task-1"))
        assert task is not None and task.follow_up_of_id is not None
        meeting = session.get(Activity, task.follow_up_of_id)
        assert meeting is not None and meeting.external_id == "mtg-1"
        # Offsets in the file become UTC; occurred_at defaults to the task's due time.
        assert task.occurred_at == datetime(2026, 3, 11, 16, 0, tzinfo=UTC)
        tom = session.scalar(select(Contact).where(Contact.external_id == "ct-2"))
        assert tom is not None and tom.created_at == datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
        assert tom.email_domain == "northwind.example"


def test_reimporting_the_same_file_changes_nothing(any_engine: Engine, now: datetime) -> None:
    import_snapshot(any_engine, EXAMPLE, now=now)
    before = dump(any_engine)

    report = import_snapshot(any_engine, EXAMPLE, now=now + timedelta(days=1))

    assert dump(any_engine) == before
    assert report.rows_written == 0
    assert all(c.inserted == 0 and c.updated == 0 for c in report.sections.values())
    assert report.sections["activities"].unchanged == 7


def test_a_changed_record_is_updated_not_duplicated(
    any_engine: Engine, now: datetime, example: dict[str, Any], write_file: Callable[[Any], Path]
) -> None:
    import_snapshot(any_engine, EXAMPLE, now=now)
    counts = row_counts(any_engine)
    deal = example["deals"][0]
    deal["stage"] = "closedwon"
    deal["amount"] = 51000
    deal["scores"].append({"recorded_at": "2026-03-11T00:00:00Z", "score": 80})
    example["activities"][1]["status"] = "completed"
    example["activities"][1]["contacts"] = []

    report = import_snapshot(any_engine, write_file(example), now=now)

    assert report.sections["deals"].updated == 1
    assert report.sections["activities"].updated == 1
    assert report.sections["activities"].unchanged == 6
    after = row_counts(any_engine)
    assert after["deals"] == counts["deals"]
    assert after["activities"] == counts["activities"]
    assert after["deal_scores"] == counts["deal_scores"] + 1
    assert after["activity_contacts"] == counts["activity_contacts"] - 1
    with Session(any_engine) as session:
        stored = session.scalar(select(Deal).where(Deal.external_id == "deal-1"))
        assert stored is not None
        assert stored.amount == Decimal("51000")
        stage = session.get(PipelineStage, stored.stage_id)
        assert stage is not None and stage.external_id == "closedwon"


def test_an_owner_change_keeps_the_history(
    any_engine: Engine, now: datetime, example: dict[str, Any], write_file: Callable[[Any], Path]
) -> None:
    import_snapshot(any_engine, EXAMPLE, now=now)
    example["deals"][0]["owner"] = "101"  # Jonas's deal goes to Mara, no time given.
    example["contacts"][1]["owner"] = "101"
    example["contacts"][1]["owner_assigned_at"] = "2026-03-11T16:00:00Z"
    later = now + timedelta(hours=1)

    import_snapshot(any_engine, write_file(example), now=later)
    import_snapshot(any_engine, write_file(example), now=later + timedelta(hours=1))

    with Session(any_engine) as session:
        users: dict[int | None, str] = dict(
            session.execute(select(User.id, User.external_id)).all()
        )
        deal = session.scalar(select(Deal).where(Deal.external_id == "deal-1"))
        contact = session.scalar(select(Contact).where(Contact.external_id == "ct-2"))
        assert deal is not None and contact is not None
        assert users[deal.owner_id] == "101"
        assert deal.owner_assigned_at == later

        def history(kind: OwnedObject, object_id: int) -> list[tuple[str, datetime]]:
            rows = session.execute(
                select(Assignment.owner_id, Assignment.assigned_at)
                .where(Assignment.object_type == kind, Assignment.object_id == object_id)
                .order_by(Assignment.assigned_at)
            )
            return [(users[owner], at) for owner, at in rows]

        assert history(OwnedObject.DEAL, deal.id) == [
            ("102", datetime(2026, 2, 1, 8, 0, tzinfo=UTC)),
            ("101", later),
        ]
        assert history(OwnedObject.CONTACT, contact.id)[-1] == (
            "101",
            datetime(2026, 3, 11, 16, 0, tzinfo=UTC),
        )


def test_records_not_in_the_file_are_left_alone(
    any_engine: Engine, now: datetime, example: dict[str, Any], write_file: Callable[[Any], Path]
) -> None:
    import_snapshot(any_engine, EXAMPLE, now=now)
    only_users = {"format": "salesbot-snapshot", "version": 1, "users": example["users"][:1]}

    report = import_snapshot(any_engine, write_file(only_users), now=now)

    assert report.sections["users"].unchanged == 1
    assert row_counts(any_engine)["activities"] == 7


def test_a_file_without_pipelines_gets_the_default_ones(
    any_engine: Engine, now: datetime, example: dict[str, Any], write_file: Callable[[Any], Path]
) -> None:
    del example["pipelines"]
    example["deals"][0]["stage"] = "decisionmakerboughtin"  # only in HubSpot's defaults

    import_snapshot(any_engine, write_file(example), now=now)

    with Session(any_engine) as session:
        deal = session.scalar(select(Deal).where(Deal.external_id == "deal-1"))
        assert deal is not None and deal.stage.label == "Decision maker bought-in"


def test_an_activity_may_name_one_that_comes_later_in_the_file(
    any_engine: Engine, now: datetime, example: dict[str, Any], write_file: Callable[[Any], Path]
) -> None:
    activities = example["activities"]
    reply = next(a for a in activities if a["id"] == "email-2")
    activities.remove(reply)
    activities.insert(0, reply)

    import_snapshot(any_engine, write_file(example), now=now, batch_size=2)

    with Session(any_engine) as session:
        stored = session.scalar(select(Activity).where(Activity.external_id == "email-2"))
        assert stored is not None and stored.in_reply_to_id is not None
        original = session.get(Activity, stored.in_reply_to_id)
        assert original is not None and original.external_id == "email-1"


def test_batches_give_the_same_result_as_one_batch(
    sqlite_engine: Engine, empty_sqlite_engine: Engine, now: datetime
) -> None:
    import_snapshot(sqlite_engine, EXAMPLE, now=now, batch_size=1)
    import_snapshot(empty_sqlite_engine, EXAMPLE, now=now, batch_size=10_000)

    assert dump(sqlite_engine) == dump(empty_sqlite_engine)
    with Session(sqlite_engine) as session:
        assert len(session.scalars(select(DealScore)).all()) == 2


def test_progress_reports_bytes_read_up_to_the_whole_file(
    sqlite_engine: Engine, now: datetime
) -> None:
    seen: list[int] = []

    import_snapshot(sqlite_engine, EXAMPLE, now=now, batch_size=2, on_progress=seen.append)

    assert len(seen) > 3
    assert seen == sorted(seen)
    assert seen[-1] == EXAMPLE.stat().st_size


def test_the_connection_keeps_its_page_cache_setting_after_an_import(
    empty_sqlite_engine: Engine, now: datetime, write_file: Callable[[Any], Path]
) -> None:
    def cache_size() -> Any:
        with empty_sqlite_engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA cache_size").scalar()

    before = cache_size()
    import_snapshot(empty_sqlite_engine, EXAMPLE, now=now)
    assert cache_size() == before
    with pytest.raises(SnapshotError):
        import_snapshot(empty_sqlite_engine, write_file({"format": "nope"}), now=now)
    assert cache_size() == before


def test_an_import_into_empty_tables_leaves_every_index_in_place(
    empty_sqlite_engine: Engine,
    now: datetime,
    example: dict[str, Any],
    write_file: Callable[[Any], Path],
) -> None:
    def indexes() -> set[tuple[str, str]]:
        with empty_sqlite_engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'"
            ).all()
        return {(table, name) for table, name in rows}

    before = indexes()
    assert ("activities", "ix_activities_owner_kind_time") in before
    # Refused at the last activity: the indexes dropped for the section come back.
    example["activities"][-1]["contacts"] = ["ct-404"]
    with pytest.raises(SnapshotError):
        import_snapshot(empty_sqlite_engine, write_file(example), now=now)
    assert indexes() == before
    import_snapshot(empty_sqlite_engine, EXAMPLE, now=now)
    assert indexes() == before
