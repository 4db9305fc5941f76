"""The Schedule: periods in the owner's zone, conflicts, and "Busy" for other viewers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from rules.meetings.wording import BUSY_TITLE
from rules.permissions import WorkspaceAccessDenied
from rules.workspace.schedule import SchedulePeriod, schedule
from storage.models import MeetingOutcome, Role, TaskStatus
from tests.builders import CRM


def test_conflicts_are_overlapping_meetings_only(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    nine = now.replace(hour=9, minute=0)
    a = crm.meeting(rep, subject="Standup", starts_at=nine, minutes=60)
    b = crm.meeting(rep, subject="Overlaps standup", starts_at=nine + timedelta(minutes=30))
    crm.meeting(rep, subject="Right after", starts_at=nine + timedelta(hours=1))
    crm.meeting(
        rep,
        subject="Canceled clash",
        starts_at=nine,
        outcome=MeetingOutcome.CANCELED,
    )

    day = schedule(session, rep, now=now)
    assert [m.title for m in day.meetings] == ["Standup", "Overlaps standup", "Right after"]
    assert len(day.conflicts) == 1
    conflict = day.conflicts[0]
    assert (conflict.first_id, conflict.second_id) == (a.id, b.id)
    assert (conflict.starts_at, conflict.ends_at) == (
        nine + timedelta(minutes=30),
        nine + timedelta(hours=1),
    )


def test_a_super_admin_sees_another_users_meetings_as_busy(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    admin = crm.user(role=Role.SUPER_ADMIN)
    buyer = crm.contact(rep, first_name="Jane", last_name="Buyer")
    crm.meeting(
        rep,
        subject="Pricing talk with Jane",
        starts_at=now + timedelta(hours=1),
        attendees=[{"name": "Jane Buyer", "email": "jane@buyer.example"}],
        meeting_link="https://meet.example/secret",
        contacts=[buyer],
    )

    own = schedule(session, rep, now=now)
    assert own.viewer_is_owner
    assert own.meetings[0].title == "Pricing talk with Jane"
    assert own.meetings[0].attendees == ("Jane Buyer",)
    assert [c.name for c in own.contacts_with_meetings_today] == ["Jane Buyer"]

    seen = schedule(session, rep, now=now, viewer=admin)
    assert not seen.viewer_is_owner
    meeting = seen.meetings[0]
    assert meeting.is_busy and meeting.title == BUSY_TITLE
    assert meeting.attendees == () and meeting.contacts == ()
    assert meeting.meeting_link is None and meeting.location is None
    assert meeting.starts_at == own.meetings[0].starts_at
    assert seen.contacts_with_meetings_today == ()
    assert "Jane" not in repr(seen)


def test_a_rep_may_not_open_another_reps_schedule(session: Session, crm: CRM) -> None:
    team = crm.team()
    rep, peer = crm.user(team_id=team.id), crm.user(team_id=team.id)
    manager = crm.user(team_id=team.id, role=Role.MANAGER)
    with pytest.raises(WorkspaceAccessDenied):
        schedule(session, rep, now=crm.now, viewer=peer)
    assert schedule(session, rep, now=crm.now, viewer=manager).viewer_is_owner is False


def test_week_and_month_follow_the_owners_zone_and_count_open_tasks(
    session: Session, crm: CRM
) -> None:
    rep = crm.user(timezone="America/Los_Angeles")
    # Wednesday 11 March 2026, 08:30 PDT.
    now = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)
    # Sunday 8 March 23:30 PDT: last week in Los Angeles, though Monday 9 March in UTC.
    crm.meeting(rep, subject="Sunday late", starts_at=datetime(2026, 3, 9, 6, 30, tzinfo=UTC))
    # Monday 16 March 00:30 PDT: next week.
    crm.meeting(rep, subject="Next Monday", starts_at=datetime(2026, 3, 16, 7, 30, tzinfo=UTC))
    crm.task(rep, subject="Open", due_at=now + timedelta(days=1))
    crm.task(
        rep,
        subject="Done",
        due_at=now + timedelta(days=1),
        status=TaskStatus.COMPLETED,
        completed_at=now,
    )
    crm.task(rep, subject="Next month", due_at=datetime(2026, 4, 2, 18, 0, tzinfo=UTC))

    week = schedule(session, rep, now=now, period=SchedulePeriod.WEEK)
    assert (week.first_day, week.last_day) == (date(2026, 3, 9), date(2026, 3, 15))
    assert [m.title for m in week.meetings] == []
    previous = schedule(session, rep, now=now, period=SchedulePeriod.WEEK, anchor=date(2026, 3, 8))
    assert [m.title for m in previous.meetings] == ["Sunday late"]
    assert [t.subject for t in week.tasks] == ["Open", "Done"]
    assert week.tasks_due == 1

    month = schedule(session, rep, now=now, period=SchedulePeriod.MONTH)
    assert (month.first_day, month.last_day) == (date(2026, 3, 1), date(2026, 3, 31))
    assert [m.title for m in month.meetings] == ["Sunday late", "Next Monday"]
    assert month.tasks_due == 1
    april = schedule(session, rep, now=now, period=SchedulePeriod.MONTH, anchor=date(2026, 4, 1))
    assert [t.subject for t in april.tasks] == ["Next month"]
