"""Exporting: the same format back, and export then import gives the same data."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from storage.models import (
    EmailDirection,
    Goal,
    GoalMetric,
    Role,
    TaskPriority,
    TeamDigestSettings,
    UserPreferences,
)
from storage.ownership import assign
from storage.snapshot import export_snapshot, exporter, import_snapshot
from storage.snapshot.schema import build_schema, load_schema
from storage.snapshot.validation import timestamp
from tests.builders import CRM
from tests.storage.snapshot.conftest import EXAMPLE, dump


def _build_organisation(engine: Engine, now: datetime) -> None:
    """A small CRM with every kind of record and association the schema knows."""
    with Session(engine) as session:
        crm = CRM(session, now)
        team = crm.team(name="Nordics", timezone="Europe/Oslo", digest_channel_id="C01")
        session.add(
            TeamDigestSettings(
                team_id=team.id,
                digest_time=time(7, 30),
                digest_weekdays=[1, 2, 3, 4],
                manager_digest_time=time(9, 15),
            )
        )
        manager = crm.user(role=Role.MANAGER, team_id=team.id, timezone="Europe/Oslo")
        rep = crm.user(team_id=team.id, slack_user_id="U02")
        crm.settings(hipaa_sensitive_data=True, late_lifecycle_stages=["customer"])
        session.add(Goal(user_id=rep.id, metric=GoalMetric.CALLS_LOGGED, weekly_target=25))
        session.add(
            UserPreferences(
                user_id=rep.id,
                digest_time=time(7, 45),
                digest_weekdays=[1, 3, 5],
                timezone_override="America/New_York",
                muted_action_types=["email_replies"],
                updated_at=now - timedelta(days=2),
            )
        )
        company = crm.company(is_target_account=True)
        crm.session.flush()
        assign(session, company, manager.id, at=now - timedelta(days=40))
        assign(session, company, rep.id, at=now - timedelta(days=3))
        buyer = crm.contact(rep, company_id=company.id, lifecycle_stage="opportunity")
        other = crm.contact(manager, email=None)
        lead = crm.lead(rep, stage="attempting", contact_id=buyer.id, company_id=company.id)
        deal = crm.deal(
            rep,
            stage="presentationscheduled",
            contacts=[buyer, other],
            amount=Decimal("1234567.89"),
            company_id=company.id,
            next_step="Demo",
            next_step_updated_at=now - timedelta(days=1),
        )
        crm.deal_score(deal, 64, now - timedelta(days=7))
        crm.deal_score(deal, 51, now - timedelta(days=1))
        enrollment = crm.enrollment(buyer, rep, current_step=3)
        meeting = crm.meeting(
            rep,
            contacts=[buyer],
            deals=[deal],
            attendees=[{"name": "B", "email": "b@buyer.example"}],
            location="HQ",
        )
        crm.task(
            rep,
            priority=TaskPriority.HIGH,
            follow_up_of_id=meeting.id,
            sequence_enrollment_id=enrollment.id,
            contacts=[buyer],
            leads=[lead],
            companies=[company],
        )
        crm.call(rep, outcome="Connected", contacts=[other])
        sent = crm.email(
            rep,
            to_emails=["b@buyer.example"],
            cc_emails=["c@buyer.example"],
            primary_recipient="b@buyer.example",
            opened_at=now - timedelta(hours=20),
            thread_id="t-1",
            contacts=[buyer],
        )
        crm.email(
            rep,
            direction=EmailDirection.INCOMING,
            in_reply_to_id=sent.id,
            thread_id="t-1",
            contacts=[buyer],
        )
        note = crm.note(rep, "Budget is tight", deals=[deal])
        assign(session, note, manager.id, at=now - timedelta(hours=1))
        session.commit()


def test_export_then_import_gives_the_same_data(
    any_engine: Engine, empty_sqlite_engine: Engine, now: datetime, tmp_path: Path
) -> None:
    _build_organisation(any_engine, now)
    exported = tmp_path / "export.json"

    # Tiny batches: streaming reads interleave with the per-batch lookups.
    counts = export_snapshot(any_engine, exported, now=now, batch_size=2)
    report = import_snapshot(
        empty_sqlite_engine, exported, now=now + timedelta(days=9), batch_size=3
    )

    source = dump(any_engine)
    # Every association and history table has rows, so the comparison covers them.
    assert all(
        source[name]
        for name in ("assignments", "deal_contacts", "activity_leads", "team_digest_settings")
    )
    assert counts["activities"] == 6
    assert report.sections["activities"].inserted == 6
    assert dump(empty_sqlite_engine) == source


def test_an_export_is_valid_against_the_schema(
    any_engine: Engine, now: datetime, tmp_path: Path
) -> None:
    _build_organisation(any_engine, now)
    exported = tmp_path / "export.json"

    export_snapshot(any_engine, exported, now=now)

    validator = jsonschema.Draft202012Validator(
        load_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = [e.message for e in validator.iter_errors(json.loads(exported.read_text("utf-8")))]
    assert errors == []


def _same(left: Any, right: Any) -> bool:
    """Equal as snapshot values: times compared as instants, numbers as numbers."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() <= right.keys() and all(_same(v, right[k]) for k, v in left.items())
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            _same(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, str) and isinstance(right, str) and left[:4].isdigit() and "T" in left:
        return timestamp(left) == timestamp(right)
    return bool(left == right)


def test_import_then_export_of_the_example_gives_an_equivalent_document(
    sqlite_engine: Engine, now: datetime, tmp_path: Path, example: dict[str, Any]
) -> None:
    import_snapshot(sqlite_engine, EXAMPLE, now=now)
    exported = tmp_path / "export.json"

    export_snapshot(sqlite_engine, exported, now=now)

    document = json.loads(exported.read_text("utf-8"))
    assert list(document) == list(example)
    for section, records in example.items():
        if section in ("format", "version", "exported_at"):
            continue
        if isinstance(records, dict):
            assert _same(records, document[section]), section
            continue
        assert len(document[section]) == len(records), section
        for position, (mine, theirs) in enumerate(zip(records, document[section], strict=True)):
            # Every member the example gives comes back with the same value (the export
            # adds defaults and derived history).
            if "owner_history" in mine:
                assert _same(mine.pop("owner_history"), theirs.pop("owner_history"))
            assert _same(mine, theirs), f"{section}[{position}]: {mine} != {theirs}"


def test_a_failed_export_keeps_the_previous_file(
    sqlite_engine: Engine, now: datetime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _build_organisation(sqlite_engine, now)
    target = tmp_path / "export.json"
    target.write_text("previous export", "utf-8")

    def broken(*_: Any) -> Any:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(exporter._Exporter, "_pipeline_records", broken)
    with pytest.raises(RuntimeError):
        export_snapshot(sqlite_engine, target, now=now)

    assert target.read_text("utf-8") == "previous export"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".export-")] == []


def test_the_committed_schema_is_the_generated_one() -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == build_schema(), (
        "run: python -m storage.snapshot.schema > storage/snapshot/schema.json"
    )


def test_the_schema_refuses_what_the_importer_refuses(example: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(
        load_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    assert list(validator.iter_errors(example)) == []
    example["contacts"][0]["nickname"] = "Lenny"
    example["deals"][0]["amount"] = "a lot"
    example["activities"][1]["due_at"] = "2026-03-11T16:00:00"
    example["version"] = 2

    paths = {"/".join(map(str, e.absolute_path)) for e in validator.iter_errors(example)}

    assert {"contacts/0", "deals/0/amount", "activities/1/due_at", "version"} <= paths


def test_team_digest_settings_travel_with_the_team(
    sqlite_engine: Engine, now: datetime, tmp_path: Path, example: dict[str, Any]
) -> None:
    schedule = {"time": "07:30", "weekdays": [1, 2, 3, 4], "manager_time": "09:15"}
    example["teams"][0]["digest"] = schedule
    source = tmp_path / "with-digest.json"
    source.write_text(json.dumps(example), "utf-8")

    import_snapshot(sqlite_engine, source, now=now)
    exported = tmp_path / "export.json"
    export_snapshot(sqlite_engine, exported, now=now)

    teams = json.loads(exported.read_text("utf-8"))["teams"]
    assert teams[0]["digest"] == schedule
    assert teams[0]["digest_channel_id"] == example["teams"][0]["digest_channel_id"]

    # Left out again: the team is back on the defaults, and the import says it changed.
    del example["teams"][0]["digest"]
    source.write_text(json.dumps(example), "utf-8")
    report = import_snapshot(sqlite_engine, source, now=now)
    assert report.sections["teams"].updated == 1
    export_snapshot(sqlite_engine, exported, now=now)
    assert "digest" not in json.loads(exported.read_text("utf-8"))["teams"][0]
