"""The Overview: task buckets, today's and upcoming meetings, weekly insight numbers, goals.

"This week" is the owner's local ISO week (Monday 00:00 to the next Monday 00:00 on their wall
clock). Each insight number can list the records behind it (:func:`insight_records`) with the
same definition the count uses, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from rules.clock import MONDAY, TimeRange, UserClock, clock_for, days_range
from rules.meetings.queries import MeetingItem, for_viewer, meetings_between, on_calendar_clause
from rules.permissions import require_workspace_access
from rules.tasks.queries import TaskBuckets, task_buckets
from rules.workspace.wording import METRIC_LABELS
from storage.models import (
    Activity,
    ActivityKind,
    EmailDirection,
    Goal,
    GoalMetric,
    TaskStatus,
    User,
)

_Column = InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None]

UPCOMING_DAYS = 7
UPCOMING_LIMIT = 10


class WeeklyMetric(StrEnum):
    """Numbers counted over the owner's local week."""

    # Meetings on the calendar this week (starting this week, not canceled).
    MEETINGS = "meetings"
    # Meetings created ("booked") this week, whenever they take place, not canceled.
    MEETINGS_BOOKED = "meetings_booked"
    # Calls that took place this week, whatever their status.
    CALLS_LOGGED = "calls_logged"
    # Tasks completed this week.
    TASKS_COMPLETED = "tasks_completed"
    # Outgoing emails sent this week.
    EMAILS_SENT = "emails_sent"


# The Insights panel of the Overview.
INSIGHT_METRICS = (WeeklyMetric.MEETINGS, WeeklyMetric.TASKS_COMPLETED, WeeklyMetric.CALLS_LOGGED)

GOAL_METRICS: dict[GoalMetric, WeeklyMetric] = {
    GoalMetric.MEETINGS_BOOKED: WeeklyMetric.MEETINGS_BOOKED,
    GoalMetric.CALLS_LOGGED: WeeklyMetric.CALLS_LOGGED,
    GoalMetric.TASKS_COMPLETED: WeeklyMetric.TASKS_COMPLETED,
    GoalMetric.EMAILS_SENT: WeeklyMetric.EMAILS_SENT,
}


@dataclass(frozen=True)
class InsightCount:
    metric: WeeklyMetric
    label: str
    count: int


@dataclass(frozen=True)
class GoalProgress:
    """Progress toward one weekly target."""

    metric: GoalMetric
    label: str
    target: int
    achieved: int

    @property
    def ratio(self) -> float:
        """Achieved over target, capped at 1 (a target of 0 counts as met)."""
        if self.target <= 0:
            return 1.0
        return min(1.0, self.achieved / self.target)

    @property
    def is_met(self) -> bool:
        return self.achieved >= self.target


@dataclass(frozen=True)
class ActivityRecord:
    """A record behind an insight number."""

    id: int
    kind: ActivityKind
    title: str
    at: datetime
    at_local: datetime


@dataclass(frozen=True)
class Overview:
    """Everything the Overview shows for one user's workspace at one instant."""

    owner_id: int
    owner_name: str
    zone: str
    local_today: date
    viewer_is_owner: bool
    tasks: TaskBuckets
    todays_meetings: tuple[MeetingItem, ...]
    upcoming_meetings: tuple[MeetingItem, ...]
    insights: tuple[InsightCount, ...]
    goals: tuple[GoalProgress, ...]


def _metric_clause(metric: WeeklyMetric, week: TimeRange) -> ColumnElement[bool]:
    def within(column: _Column) -> ColumnElement[bool]:
        return and_(column >= week.start, column < week.end)

    if metric is WeeklyMetric.MEETINGS:
        return and_(
            Activity.kind == ActivityKind.MEETING,
            within(Activity.starts_at),
            on_calendar_clause(),
        )
    if metric is WeeklyMetric.MEETINGS_BOOKED:
        return and_(
            Activity.kind == ActivityKind.MEETING,
            within(Activity.created_at),
            on_calendar_clause(),
        )
    if metric is WeeklyMetric.CALLS_LOGGED:
        return and_(Activity.kind == ActivityKind.CALL, within(Activity.occurred_at))
    if metric is WeeklyMetric.TASKS_COMPLETED:
        return and_(
            Activity.kind == ActivityKind.TASK,
            Activity.status == TaskStatus.COMPLETED,
            within(Activity.completed_at),
        )
    return and_(
        Activity.kind == ActivityKind.EMAIL,
        Activity.direction == EmailDirection.OUTGOING,
        within(Activity.occurred_at),
    )


def _record_time(metric: WeeklyMetric) -> _Column:
    return {
        WeeklyMetric.MEETINGS: Activity.starts_at,
        WeeklyMetric.MEETINGS_BOOKED: Activity.created_at,
        WeeklyMetric.TASKS_COMPLETED: Activity.completed_at,
    }.get(metric, Activity.occurred_at)


def weekly_counts(
    session: Session,
    user: User,
    *,
    now: datetime,
    metrics: tuple[WeeklyMetric, ...] = tuple(WeeklyMetric),
    first_weekday: int = MONDAY,
) -> dict[WeeklyMetric, int]:
    """Count each metric over the user's local week containing ``now``, in one query.

    Args:
        session: An open session.
        user: Whose activities (owner) and whose week.
        now: The current instant (aware).
        metrics: Which numbers to count.
        first_weekday: The day the week starts on for the reader (0 = Monday, 6 = Sunday).
    """
    week = clock_for(session, user, now=now, first_weekday=first_weekday).this_week
    columns = [
        func.coalesce(func.sum(case((_metric_clause(m, week), 1), else_=0)), 0).label(m.value)
        for m in metrics
    ]
    row = session.execute(select(*columns).where(Activity.owner_id == user.id)).one()
    return {metric: int(row[index]) for index, metric in enumerate(metrics)}


def insight_records(
    session: Session,
    user: User,
    metric: WeeklyMetric,
    *,
    now: datetime,
    first_weekday: int = MONDAY,
) -> tuple[ActivityRecord, ...]:
    """The records behind one weekly number, oldest first (clicking an insight number).

    Args:
        session: An open session.
        user: Whose activities and whose week.
        metric: Which number.
        now: The current instant (aware).
        first_weekday: The day the week starts on for the reader (0 = Monday, 6 = Sunday).
    """
    clock = clock_for(session, user, now=now, first_weekday=first_weekday)
    when = _record_time(metric)
    rows = session.execute(
        select(Activity.id, Activity.kind, Activity.subject, when)
        .where(Activity.owner_id == user.id, _metric_clause(metric, clock.this_week))
        .order_by(when, Activity.id)
    )
    records = []
    for activity_id, kind, subject, at in rows:
        assert at is not None  # the metric's clause bounds this very column
        records.append(
            ActivityRecord(
                id=activity_id,
                kind=ActivityKind(kind),
                title=subject or f"({ActivityKind(kind).value})",
                at=at,
                at_local=clock.local(at),
            )
        )
    return tuple(records)


def goals_progress(
    session: Session,
    user: User,
    *,
    now: datetime,
    counts: dict[WeeklyMetric, int] | None = None,
    first_weekday: int = MONDAY,
) -> tuple[GoalProgress, ...]:
    """The user's weekly targets with what this week (starting on ``first_weekday``)
    achieved so far, in metric order."""
    goals = list(session.scalars(select(Goal).where(Goal.user_id == user.id).order_by(Goal.metric)))
    if not goals:
        return ()
    if counts is None:
        counts = weekly_counts(session, user, now=now, first_weekday=first_weekday)
    return tuple(
        GoalProgress(
            metric=GoalMetric(goal.metric),
            label=METRIC_LABELS[GOAL_METRICS[GoalMetric(goal.metric)]],
            target=goal.weekly_target,
            achieved=counts[GOAL_METRICS[GoalMetric(goal.metric)]],
        )
        for goal in goals
    )


def upcoming_window(clock: UserClock, days: int = UPCOMING_DAYS) -> TimeRange:
    """From the end of today to the end of the ``days``-th local day after today."""
    return days_range(clock.zone, clock.tomorrow, clock.today + timedelta(days=days))


def overview(
    session: Session,
    owner: User,
    *,
    now: datetime,
    viewer: User | None = None,
    first_weekday: int = MONDAY,
) -> Overview:
    """Everything the Overview shows for ``owner``'s workspace.

    Args:
        session: An open session.
        owner: Whose workspace.
        now: The current instant (aware).
        viewer: Who is looking (default: the owner). Anyone else must be allowed by
            ``rules.permissions.can_view_workspace`` and sees meetings as "Busy".
        first_weekday: The day "this week" starts on for the reader (0 = Monday, 6 = Sunday).

    Raises:
        WorkspaceAccessDenied: The viewer may not see this workspace.
    """
    viewer_is_owner = require_workspace_access(session, viewer=viewer or owner, owner=owner)
    clock = clock_for(session, owner, now=now)
    counts = weekly_counts(session, owner, now=now, first_weekday=first_weekday)
    todays = meetings_between(session, owner, clock=clock, window=clock.today_range)
    # Today's meetings are those that start today; one that began yesterday and runs past
    # midnight belongs to yesterday's list.
    todays = tuple(m for m in todays if m.starts_at >= clock.today_range.start)
    upcoming_range = upcoming_window(clock)
    upcoming = tuple(
        m
        for m in meetings_between(session, owner, clock=clock, window=upcoming_range)
        if m.starts_at >= upcoming_range.start
    )[:UPCOMING_LIMIT]
    return Overview(
        owner_id=owner.id,
        owner_name=owner.name,
        zone=clock.zone.key,
        local_today=clock.today,
        viewer_is_owner=viewer_is_owner,
        tasks=task_buckets(session, owner, now=now),
        todays_meetings=for_viewer(todays, viewer_is_owner=viewer_is_owner),
        upcoming_meetings=for_viewer(upcoming, viewer_is_owner=viewer_is_owner),
        insights=tuple(
            InsightCount(metric, METRIC_LABELS[metric], counts[metric])
            for metric in INSIGHT_METRICS
        ),
        goals=goals_progress(session, owner, now=now, counts=counts, first_weekday=first_weekday),
    )
