"""The benchmark organisation: deterministic, valid, and full of work for the rules."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import ColumnElement, Engine, func, select
from sqlalchemy.orm import Session

from bench import generate
from bench.generate import counts_for, load_org, write_snapshot
from storage.models import Activity, ActivityKind, Deal, TaskPriority
from storage.snapshot.schema import load_schema

SCALE = 0.002  # a dozen users, 200 contacts, 2,000 activities


def test_the_same_arguments_give_the_same_file(tmp_path: Path, now: datetime) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"

    counts = write_snapshot(first, scale=SCALE, now=now)
    write_snapshot(second, scale=SCALE, now=now)

    assert first.read_bytes() == second.read_bytes()
    assert counts["activities"] == counts_for(SCALE)["activities"] == 2000
    other = tmp_path / "c.json"
    write_snapshot(other, scale=SCALE, now=now, seed=8)
    assert other.read_bytes() != first.read_bytes()


def test_the_file_follows_the_schema(tmp_path: Path, now: datetime) -> None:
    path = tmp_path / "org.json"
    write_snapshot(path, scale=SCALE, now=now)

    validator = jsonschema.Draft202012Validator(
        load_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = list(validator.iter_errors(json.loads(path.read_text("utf-8"))))
    assert [e.message for e in errors[:3]] == []


def test_load_org_imports_an_organisation_with_work_to_do(
    sqlite_engine: Engine, now: datetime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generate, "DATA_DIR", tmp_path)

    counts = load_org(sqlite_engine, scale=SCALE, now=now)

    assert counts["activities"] == 2000
    assert counts["users"] == counts_for(SCALE)["users"]
    assert len(list(tmp_path.glob("org-*.json"))) == 1  # cached for the next call
    today_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with Session(sqlite_engine) as session:

        def count(*conditions: ColumnElement[bool]) -> int:
            return (
                session.scalar(select(func.count()).select_from(Activity).where(*conditions)) or 0
            )

        task = Activity.kind == ActivityKind.TASK
        assert count(task, Activity.due_at < today_start, Activity.completed_at.is_(None)) > 0
        assert (
            count(
                task,
                Activity.due_at >= today_start,
                Activity.due_at < today_start + timedelta(days=1),
                Activity.priority == TaskPriority.HIGH,
            )
            > 0
        )
        assert (
            count(
                Activity.kind == ActivityKind.MEETING,
                Activity.ends_at < now,
                Activity.ends_at > now - timedelta(days=7),
                Activity.outcome == "scheduled",
            )
            > 0
        )
        assert count(Activity.kind == ActivityKind.EMAIL, Activity.in_reply_to_id.is_not(None)) > 0
        assert count(Activity.follow_up_of_id.is_not(None)) > 0
        without_contacts = select(func.count()).select_from(Deal).where(~Deal.contacts.any())
        assert (session.scalar(without_contacts) or 0) > 0
