"""Task buckets follow the owner's own midnight, across daylight-saving changes too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from rules.clock import week_range
from rules.tasks.queries import (
    TaskBucket,
    TaskBuckets,
    TaskFilters,
    next_in_queue,
    open_tasks,
    task_buckets,
    task_queue,
)
from storage.models import TaskPriority, TaskStatus, TaskType, User
from tests.builders import CRM


def _subjects(buckets: TaskBuckets) -> dict[str, list[str]]:
    return {
        bucket.value: [task.subject for task in buckets.group(bucket).tasks]
        for bucket in TaskBucket
    }


def _at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_tokyo_buckets_turn_over_at_tokyo_midnight(session: Session, crm: CRM) -> None:
    rep = crm.user(timezone="Asia/Tokyo")
    crm.task(rep, subject="23:59 JST on the 10th", due_at=_at(2026, 3, 10, 14, 59))
    crm.task(rep, subject="23:00 JST on the 11th", due_at=_at(2026, 3, 11, 14, 0))
    crm.task(rep, subject="00:00 JST on the 12th", due_at=_at(2026, 3, 11, 15, 0))
    crm.task(rep, subject="23:59 JST on the 12th", due_at=_at(2026, 3, 12, 14, 59))
    crm.task(rep, subject="00:00 JST on the 13th", due_at=_at(2026, 3, 12, 15, 0))

    one_minute_before = task_buckets(session, rep, now=_at(2026, 3, 11, 14, 59))
    assert _subjects(one_minute_before) == {
        "overdue": ["23:59 JST on the 10th"],
        "today": ["23:00 JST on the 11th"],
        "tomorrow": ["00:00 JST on the 12th", "23:59 JST on the 12th"],
    }
    one_minute_after = task_buckets(session, rep, now=_at(2026, 3, 11, 15, 1))
    assert _subjects(one_minute_after) == {
        "overdue": ["23:59 JST on the 10th", "23:00 JST on the 11th"],
        "today": ["00:00 JST on the 12th", "23:59 JST on the 12th"],
        "tomorrow": ["00:00 JST on the 13th"],
    }


def test_los_angeles_on_the_day_clocks_spring_forward(session: Session, crm: CRM) -> None:
    # Sunday 8 March 2026: 02:00 PST becomes 03:00 PDT, the day lasts 23 hours.
    rep = crm.user(timezone="America/Los_Angeles")
    crm.task(rep, subject="Sat 23:30 PST", due_at=_at(2026, 3, 8, 7, 30))
    crm.task(rep, subject="Sun 23:30 PDT", due_at=_at(2026, 3, 9, 6, 30))
    # With a fixed -8 offset this would read Sunday 23:30; on the wall clock it is Monday.
    crm.task(rep, subject="Mon 00:30 PDT", due_at=_at(2026, 3, 9, 7, 30))

    noon_sunday = _at(2026, 3, 8, 19, 0)  # 12:00 PDT
    assert _subjects(task_buckets(session, rep, now=noon_sunday)) == {
        "overdue": ["Sat 23:30 PST"],
        "today": ["Sun 23:30 PDT"],
        "tomorrow": ["Mon 00:30 PDT"],
    }
    # Just after midnight PDT (07:00 UTC), not after midnight PST (08:00 UTC).
    after_midnight = _at(2026, 3, 9, 7, 5)
    assert _subjects(task_buckets(session, rep, now=after_midnight)) == {
        "overdue": ["Sat 23:30 PST", "Sun 23:30 PDT"],
        "today": ["Mon 00:30 PDT"],
        "tomorrow": [],
    }


def test_berlin_on_the_day_clocks_fall_back(session: Session, crm: CRM) -> None:
    # Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET, the day lasts 25 hours.
    rep = crm.user(timezone="Europe/Berlin")
    crm.task(rep, subject="Sat 23:30 CEST", due_at=_at(2026, 10, 24, 21, 30))
    crm.task(rep, subject="Sun 00:30 CEST", due_at=_at(2026, 10, 24, 22, 30))
    # With a fixed +2 offset this would read Monday 00:30; on the wall clock it is Sunday.
    crm.task(rep, subject="Sun 23:30 CET", due_at=_at(2026, 10, 25, 22, 30))
    crm.task(rep, subject="Mon 00:30 CET", due_at=_at(2026, 10, 25, 23, 30))

    buckets = task_buckets(session, rep, now=_at(2026, 10, 25, 10, 0))
    assert _subjects(buckets) == {
        "overdue": ["Sat 23:30 CEST"],
        "today": ["Sun 00:30 CEST", "Sun 23:30 CET"],
        "tomorrow": ["Mon 00:30 CET"],
    }
    assert buckets.today.tasks[1].due_local is not None
    assert buckets.today.tasks[1].due_local.hour == 23


def test_only_open_tasks_of_the_user_count_and_high_priority_is_marked(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep, other = crm.user(), crm.user()
    crm.task(rep, subject="Call back", due_at=now + timedelta(hours=1))
    crm.task(rep, subject="Urgent", due_at=now + timedelta(hours=2), priority=TaskPriority.HIGH)
    crm.task(rep, subject="Earlier today", due_at=now - timedelta(hours=3))
    crm.task(
        rep,
        subject="Done already",
        due_at=now + timedelta(hours=1),
        status=TaskStatus.COMPLETED,
        completed_at=now,
    )
    crm.task(other, subject="Not mine", due_at=now + timedelta(hours=1))

    today = task_buckets(session, rep, now=now).today
    assert [t.subject for t in today.tasks] == ["Earlier today", "Call back", "Urgent"]
    assert today.count == 3
    assert today.high_priority_count == 1
    assert [t.is_late for t in today.tasks] == [True, False, False]
    assert [t.is_high_priority for t in today.tasks] == [False, False, True]


def test_queue_walks_overdue_then_today_then_tomorrow_high_priority_first(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    due = now + timedelta(hours=1)
    tomorrow = crm.task(rep, subject="Tomorrow", due_at=now + timedelta(days=1))
    normal = crm.task(rep, subject="Normal", due_at=due)
    urgent = crm.task(rep, subject="Urgent", due_at=due, priority=TaskPriority.HIGH)
    overdue = crm.task(rep, subject="Overdue", due_at=now - timedelta(days=2))

    queue = task_queue(session, rep, now=now)
    assert queue == (overdue.id, urgent.id, normal.id, tomorrow.id)
    assert task_queue(session, rep, now=now, bucket=TaskBucket.TODAY) == (urgent.id, normal.id)
    assert next_in_queue(queue, {overdue.id, urgent.id}) == normal.id
    assert next_in_queue(queue, set(queue)) is None


def _seq_task(crm: CRM, rep: User, **overrides: Any) -> None:
    contact = crm.contact(rep)
    enrollment = crm.enrollment(contact, rep)
    crm.task(rep, sequence_enrollment_id=enrollment.id, contacts=[contact], **overrides)


def test_tasks_view_filters_and_pages(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    for day in range(5):
        crm.task(rep, subject=f"Email {day}", due_at=now + timedelta(days=day), task_type="email")
    crm.task(rep, subject="Call Acme", due_at=now, task_type=TaskType.CALL)
    _seq_task(crm, rep, subject="Sequence step 2", due_at=now + timedelta(hours=1))

    calls = open_tasks(
        session, rep, now=now, filters=TaskFilters(task_types=frozenset({TaskType.CALL}))
    )
    assert [t.subject for t in calls.tasks] == ["Call Acme"]

    sequence = open_tasks(session, rep, now=now, filters=TaskFilters(sequence=True))
    assert [t.subject for t in sequence.tasks] == ["Sequence step 2"]
    assert sequence.tasks[0].is_sequence_task
    assert len(sequence.tasks[0].contacts) == 1

    this_week = open_tasks(
        session,
        rep,
        now=now,
        filters=TaskFilters(due_within=week_range(ZoneInfo("UTC"), now.date()), search="email"),
    )
    # Wednesday: emails due Wed..Sun this week.
    assert [t.subject for t in this_week.tasks] == [f"Email {d}" for d in range(5)]

    pages = [open_tasks(session, rep, now=now, offset=offset, limit=3) for offset in (0, 3, 6)]
    assert [page.total for page in pages] == [7, 7, 7]
    assert [page.has_more for page in pages] == [True, True, False]
    seen = [t.id for page in pages for t in page.tasks]
    assert len(seen) == len(set(seen)) == 7


def test_bucket_filter_accepts_now_in_any_zone(session: Session, crm: CRM) -> None:
    rep = crm.user(timezone="Asia/Tokyo")
    crm.task(rep, subject="Last week", due_at=_at(2026, 3, 4, 1, 0))
    crm.task(rep, subject="Today", due_at=_at(2026, 3, 11, 3, 0))
    tokyo_now = datetime(2026, 3, 11, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))

    def subjects(bucket: TaskBucket) -> list[str]:
        page = open_tasks(session, rep, now=tokyo_now, filters=TaskFilters(bucket=bucket))
        return [t.subject for t in page.tasks]

    assert subjects(TaskBucket.OVERDUE) == ["Last week"]
    assert subjects(TaskBucket.TODAY) == ["Today"]
    assert subjects(TaskBucket.TOMORROW) == []
