"""The Overview: meetings of the owner's day, weekly numbers with their records, goals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from rules.workspace.overview import WeeklyMetric, insight_records, overview, weekly_counts
from rules.workspace.wording import METRIC_LABELS
from storage.models import (
    EmailDirection,
    Goal,
    GoalMetric,
    MeetingOutcome,
    Role,
    TaskStatus,
)
from tests.builders import CRM


def test_todays_meetings_are_the_owners_local_day(session: Session, crm: CRM) -> None:
    rep = crm.user(timezone="Asia/Tokyo")
    now = datetime(2026, 3, 11, 1, 0, tzinfo=UTC)  # 10:00 JST, Wednesday 11 March
    crm.meeting(rep, subject="JST breakfast", starts_at=datetime(2026, 3, 10, 23, 0, tzinfo=UTC))
    crm.meeting(rep, subject="JST evening", starts_at=datetime(2026, 3, 11, 11, 0, tzinfo=UTC))
    crm.meeting(rep, subject="JST tomorrow", starts_at=datetime(2026, 3, 11, 15, 30, tzinfo=UTC))
    crm.meeting(rep, subject="Yesterday JST", starts_at=datetime(2026, 3, 10, 14, 0, tzinfo=UTC))
    crm.meeting(
        rep,
        subject="Canceled",
        starts_at=datetime(2026, 3, 11, 3, 0, tzinfo=UTC),
        outcome=MeetingOutcome.CANCELED,
    )

    view = overview(session, rep, now=now)
    assert view.local_today == date(2026, 3, 11)
    assert view.zone == "Asia/Tokyo"
    assert [m.title for m in view.todays_meetings] == ["JST breakfast", "JST evening"]
    assert view.todays_meetings[0].starts_local.hour == 8
    assert [m.title for m in view.upcoming_meetings] == ["JST tomorrow"]


def test_insight_numbers_match_the_records_behind_them(
    session: Session, crm: CRM, now: datetime
) -> None:
    # now: Wednesday 11 March 2026 15:30 UTC; the week is Monday 9 to Sunday 15 (UTC user).
    rep, other = crm.user(), crm.user()
    monday = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    crm.meeting(rep, subject="Mon meeting", starts_at=monday)
    crm.meeting(rep, subject="Fri meeting", starts_at=monday + timedelta(days=4))
    crm.meeting(rep, subject="Last Sunday", starts_at=monday - timedelta(days=1))
    crm.meeting(rep, subject="Canceled", starts_at=monday, outcome=MeetingOutcome.CANCELED)
    crm.meeting(other, subject="Not mine", starts_at=monday)
    crm.task(
        rep,
        subject="Done Tue",
        status=TaskStatus.COMPLETED,
        completed_at=monday + timedelta(days=1),
    )
    crm.task(
        rep,
        subject="Done last week",
        status=TaskStatus.COMPLETED,
        completed_at=monday - timedelta(days=3),
    )
    crm.task(rep, subject="Still open")
    crm.call(rep, subject="Call Tue", starts_at=monday + timedelta(days=1))
    crm.call(rep, subject="Call Wed", starts_at=now - timedelta(hours=1), call_status=None)
    crm.email(rep, subject="Sent", sent_at=monday)
    crm.email(rep, subject="Received", sent_at=monday, direction=EmailDirection.INCOMING)

    counts = weekly_counts(session, rep, now=now)
    assert counts[WeeklyMetric.MEETINGS] == 2
    assert counts[WeeklyMetric.TASKS_COMPLETED] == 1
    assert counts[WeeklyMetric.CALLS_LOGGED] == 2
    assert counts[WeeklyMetric.EMAILS_SENT] == 1
    for metric in WeeklyMetric:
        assert len(insight_records(session, rep, metric, now=now)) == counts[metric]
    assert [r.title for r in insight_records(session, rep, WeeklyMetric.MEETINGS, now=now)] == [
        "Mon meeting",
        "Fri meeting",
    ]

    session.add_all(
        [
            Goal(user_id=rep.id, metric=GoalMetric.CALLS_LOGGED, weekly_target=4),
            Goal(user_id=rep.id, metric=GoalMetric.TASKS_COMPLETED, weekly_target=1),
        ]
    )
    session.flush()
    view = overview(session, rep, now=now)
    assert {i.metric: i.count for i in view.insights} == {
        WeeklyMetric.MEETINGS: 2,
        WeeklyMetric.TASKS_COMPLETED: 1,
        WeeklyMetric.CALLS_LOGGED: 2,
    }
    goals = {g.metric: g for g in view.goals}
    assert (goals[GoalMetric.CALLS_LOGGED].achieved, goals[GoalMetric.CALLS_LOGGED].ratio) == (
        2,
        0.5,
    )
    assert goals[GoalMetric.TASKS_COMPLETED].is_met


def test_an_admin_viewing_the_overview_sees_busy_meetings(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    admin = crm.user(role=Role.SUPER_ADMIN)
    crm.meeting(rep, subject="Secret pricing", starts_at=now + timedelta(hours=1))
    view = overview(session, rep, now=now, viewer=admin)
    assert not view.viewer_is_owner
    assert [m.title for m in view.todays_meetings] == ["Busy"]


def test_every_weekly_number_has_a_label() -> None:
    # The labels live apart from the metrics (rules.workspace.wording): a new one needs both.
    assert all(METRIC_LABELS.get(metric) for metric in WeeklyMetric)
