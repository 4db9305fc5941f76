"""Time-driven evaluation: an action appears and ends when its instant passes, no sweep needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from rules.guided_actions import ActionType, evaluate
from rules.guided_actions.timing import evaluate_due, tick
from storage.models import TaskPriority
from tests.builders import CRM
from tests.conftest import DemoTemplate
from tests.rules.guided_actions.support import last_item, open_objects


def test_a_meeting_needs_its_outcome_logged_one_hour_after_it_ends(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    meeting = crm.meeting(rep, starts_at=now - timedelta(minutes=20), minutes=30)
    tick(session, now=now)  # first start: a full pass
    ends = now + timedelta(minutes=10)

    tick(session, now=ends + timedelta(minutes=59))
    assert meeting.id not in open_objects(session, ActionType.LOG_MEETING_OUTCOME, rep.id)

    tick(session, now=ends + timedelta(hours=1, seconds=20))
    assert meeting.id in open_objects(session, ActionType.LOG_MEETING_OUTCOME, rep.id)

    tick(session, now=ends + timedelta(days=7, seconds=20))
    item = last_item(session, ActionType.LOG_MEETING_OUTCOME, meeting.id)
    assert item.closed_reason == "no_longer:ended_less_than_7_days_ago"


def test_a_high_priority_task_appears_at_local_midnight_across_a_dst_change(
    session: Session, crm: CRM
) -> None:
    # New York springs forward on Sunday 2026-03-08: that day is 23 hours long.
    start = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    rep = crm.user(timezone="America/New_York")
    task = crm.task(
        rep,
        due_at=datetime(2026, 3, 8, 15, 0, tzinfo=UTC),
        priority=TaskPriority.HIGH,
        created_at=start - timedelta(days=1),
    )
    tick(session, now=start)
    saturday_midnight = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST
    sunday_end = datetime(2026, 3, 9, 4, 0, tzinfo=UTC)  # 00:00 EDT, 23 h later

    tick(session, now=saturday_midnight - timedelta(seconds=20))
    assert task.id not in open_objects(session, ActionType.HIGH_PRIORITY_TASKS_TODAY, rep.id)
    tick(session, now=saturday_midnight + timedelta(seconds=20))
    assert task.id in open_objects(session, ActionType.HIGH_PRIORITY_TASKS_TODAY, rep.id)

    tick(session, now=sunday_end - timedelta(seconds=20))
    assert task.id in open_objects(session, ActionType.HIGH_PRIORITY_TASKS_TODAY, rep.id)
    tick(session, now=sunday_end + timedelta(seconds=20))
    assert task.id not in open_objects(session, ActionType.HIGH_PRIORITY_TASKS_TODAY, rep.id)


def test_each_window_is_evaluated_once_and_repairs_are_full_passes(
    session: Session, crm: CRM, now: datetime
) -> None:
    crm.user()
    first = tick(session, now=now)
    assert first is not None and first.full
    assert tick(session, now=now) is None  # the window is empty (or another replica had it)
    nearby = tick(session, now=now + timedelta(seconds=20))
    assert nearby is not None and not nearby.full and nearby.since == now
    repair = tick(session, now=now + timedelta(hours=6))  # the periodic repair pass
    assert repair is not None and repair.full
    after = tick(session, now=now + timedelta(hours=6, seconds=20))
    assert after is not None and not after.full
    later = tick(session, now=now + timedelta(days=2))  # a day away: a full pass
    assert later is not None and later.full


@pytest.mark.slow  # ~10 s a full pass over the demo, 14 of them
def test_ticks_leave_nothing_for_a_full_pass_to_do(
    sqlite_engine: Engine, session: Session, now: datetime, _demo_template: DemoTemplate
) -> None:
    """Across a month of ticks over the demo organisation, a full pass after each tick
    finds nothing to create or expire: every time boundary of every rule is known."""
    _demo_template.copy_into(sqlite_engine)  # the demo (seed 42) at `now`, evaluated
    steps = [timedelta(minutes=20)] * 3 + [timedelta(hours=7)] * 3 + [timedelta(days=5)] * 7
    since = now
    for step in steps:
        at = since + step
        evaluate_due(session, since=since, now=at)
        audit = evaluate(session, now=at)
        left = [(r.type.value, r.created, r.expired) for r in audit.runs if r.created or r.expired]
        assert left == [], f"at {at}: missed {left}"
        since = at
