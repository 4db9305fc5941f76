"""The Schedule: meetings and tasks by local day, week or month, with conflicts.

Periods are the owner's local calendar periods (a week starts on the reader's first day of
the week: Monday in Germany, Sunday in the US). Two meetings
**conflict** when their times overlap by any amount (one ending at 10:00 and the next starting
at 10:00 do not); canceled meetings free their time and never conflict. When someone other
than the owner views the schedule, meetings come back as "Busy" (``rules.meetings.queries.redact``)
and the "contacts with meetings today" list is empty, since it would name the attendees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from rules.clock import (
    MONDAY,
    TimeRange,
    UserClock,
    clock_for,
    day_range,
    month_range,
    week_range,
)
from rules.meetings.queries import MeetingItem, for_viewer, meetings_between
from rules.permissions import require_workspace_access
from rules.records import RecordRef
from rules.tasks.queries import TaskItem, tasks_due_between
from storage.models import TaskStatus, User


class SchedulePeriod(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Conflict:
    """Two meetings that overlap, and the time they share."""

    first_id: int
    second_id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Schedule:
    owner_id: int
    viewer_is_owner: bool
    period: SchedulePeriod
    zone: str
    window: TimeRange
    first_day: date
    last_day: date
    meetings: tuple[MeetingItem, ...]
    # Every task due in the period, completed ones included.
    tasks: tuple[TaskItem, ...]
    # Contacts associated with the owner's meetings of the owner's local today.
    contacts_with_meetings_today: tuple[RecordRef, ...]
    conflicts: tuple[Conflict, ...]

    @property
    def tasks_due(self) -> int:
        """ "[X] tasks due" for the period: the open ones."""
        return sum(1 for task in self.tasks if task.status is not TaskStatus.COMPLETED)


def period_range(clock: UserClock, period: SchedulePeriod, anchor: date) -> TimeRange:
    """The local day, week or month containing ``anchor``, as a UTC range."""
    if period is SchedulePeriod.DAY:
        return day_range(clock.zone, anchor)
    if period is SchedulePeriod.WEEK:
        return week_range(clock.zone, anchor, clock.first_weekday)
    return month_range(clock.zone, anchor)


def find_conflicts(meetings: tuple[MeetingItem, ...]) -> tuple[Conflict, ...]:
    """Every pair of overlapping meetings, by the first one's start.

    A sweep over the meetings sorted by start: each meeting is compared only with those that
    start before it ends.
    """
    ordered = sorted(meetings, key=lambda m: (m.starts_at, m.id))
    found = []
    for index, first in enumerate(ordered):
        for second in ordered[index + 1 :]:
            if second.starts_at >= first.ends_at:
                break
            if first.overlaps(second):
                found.append(
                    Conflict(
                        first_id=first.id,
                        second_id=second.id,
                        starts_at=max(first.starts_at, second.starts_at),
                        ends_at=min(first.ends_at, second.ends_at),
                    )
                )
    return tuple(found)


def schedule(
    session: Session,
    owner: User,
    *,
    now: datetime,
    period: SchedulePeriod = SchedulePeriod.DAY,
    anchor: date | None = None,
    viewer: User | None = None,
    first_weekday: int = MONDAY,
) -> Schedule:
    """The owner's schedule for the local period containing ``anchor`` (default: today).

    Args:
        session: An open session.
        owner: Whose schedule.
        now: The current instant (aware).
        period: Day, week or month.
        anchor: A local date inside the period (default: the owner's today).
        viewer: Who is looking (default: the owner); anyone else sees meetings as "Busy".
        first_weekday: The day a week starts on for the reader (0 = Monday, 6 = Sunday).

    Raises:
        WorkspaceAccessDenied: The viewer may not see this workspace.
    """
    viewer_is_owner = require_workspace_access(session, viewer=viewer or owner, owner=owner)
    clock = clock_for(session, owner, now=now, first_weekday=first_weekday)
    window = period_range(clock, period, anchor or clock.today)
    meetings = meetings_between(session, owner, clock=clock, window=window)
    conflicts = find_conflicts(meetings)
    contacts: tuple[RecordRef, ...] = ()
    if viewer_is_owner:
        today = meetings_between(session, owner, clock=clock, window=clock.today_range)
        unique = {ref.id: ref for m in today for ref in m.contacts}
        contacts = tuple(sorted(unique.values(), key=lambda r: (r.name, r.id)))
    return Schedule(
        owner_id=owner.id,
        viewer_is_owner=viewer_is_owner,
        period=period,
        zone=clock.zone.key,
        window=window,
        first_day=clock.local(window.start).date(),
        last_day=clock.local(window.end).date() - timedelta(days=1),
        meetings=for_viewer(meetings, viewer_is_owner=viewer_is_owner),
        tasks=tasks_due_between(session, owner, clock=clock, window=window),
        contacts_with_meetings_today=contacts,
        conflicts=conflicts,
    )
