"""A user's tasks: the due buckets of the Overview, the Tasks view with filters, the task queue.

Buckets are local calendar days of the *task owner's* clock (see ``rules.clock``):

- **overdue**: an open task due before the start of today;
- **due today**: an open task due at any time today (one due at 09:00 when it is 15:00 is
  still "due today", flagged ``is_late``);
- **due tomorrow**: an open task due at any time tomorrow.

Open means not completed (``OPEN_TASK_STATUSES``). A task without a due time is in no bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session

from rules.clock import TimeRange, UserClock, clock_for
from rules.records import RecordRef, contacts_of_activities, deals_of_activities
from storage.models import (
    OPEN_TASK_STATUSES,
    Activity,
    ActivityKind,
    TaskPriority,
    TaskStatus,
    TaskType,
    User,
)

# How far back the Tasks view's "completed" list reaches (tasks to reopen).
RECENTLY_COMPLETED = timedelta(days=7)

# "Overdue" has no lower bound; a fixed early instant stands for it (datetime.min would
# overflow when converted from a zone ahead of UTC).
EARLIEST_DUE = datetime(1900, 1, 1, tzinfo=UTC)


class TaskBucket(StrEnum):
    """The one spelling of the buckets, in views, digests, buttons and the CLI."""

    OVERDUE = "overdue"
    TODAY = "today"
    TOMORROW = "tomorrow"


# The order a queue over every bucket walks, and views and digests list them in.
BUCKET_ORDER = (TaskBucket.OVERDUE, TaskBucket.TODAY, TaskBucket.TOMORROW)

# Digest messages already posted in Slack carry these older names on their buttons.
_OLD_BUCKET_NAMES = {"due_today": TaskBucket.TODAY, "due_tomorrow": TaskBucket.TOMORROW}


def bucket_named(name: str) -> TaskBucket:
    """The bucket a button or a filter names (``"today"``; older messages ``"due_today"``).

    Raises:
        ValueError: No bucket has that name.
    """
    name = name.strip()
    return _OLD_BUCKET_NAMES.get(name) or TaskBucket(name)


@dataclass(frozen=True)
class TaskItem:
    """One task as a view shows it."""

    id: int
    subject: str
    due_at: datetime | None
    # The due time on the owner's wall clock (None without a due time).
    due_local: datetime | None
    status: TaskStatus
    priority: TaskPriority
    task_type: TaskType | None
    owner_id: int | None
    is_sequence_task: bool
    # Due earlier than now (an overdue task, or one due earlier today).
    is_late: bool
    contacts: tuple[RecordRef, ...] = ()
    deals: tuple[RecordRef, ...] = ()

    @property
    def is_high_priority(self) -> bool:
        return self.priority is TaskPriority.HIGH


@dataclass(frozen=True)
class TaskGroup:
    """The tasks of one bucket, in queue order, with the numbers a view shows."""

    bucket: TaskBucket
    tasks: tuple[TaskItem, ...]

    @property
    def count(self) -> int:
        return len(self.tasks)

    @property
    def high_priority_count(self) -> int:
        return sum(1 for task in self.tasks if task.is_high_priority)


@dataclass(frozen=True)
class TaskBuckets:
    """Due today, overdue and due tomorrow, for one user at one instant."""

    today: TaskGroup
    overdue: TaskGroup
    tomorrow: TaskGroup
    local_today: date

    def group(self, bucket: TaskBucket) -> TaskGroup:
        return {
            TaskBucket.TODAY: self.today,
            TaskBucket.OVERDUE: self.overdue,
            TaskBucket.TOMORROW: self.tomorrow,
        }[bucket]


@dataclass(frozen=True)
class TaskFilters:
    """Filters of the Tasks view; every field left at None filters nothing."""

    bucket: TaskBucket | None = None
    priorities: frozenset[TaskPriority] | None = None
    task_types: frozenset[TaskType] | None = None
    # True: only tasks created by a sequence; False: only the others.
    sequence: bool | None = None
    # Due within this UTC range (e.g. a local week from rules.clock).
    due_within: TimeRange | None = None
    # Case-insensitive substring of the subject.
    search: str | None = None


@dataclass(frozen=True)
class TaskPage:
    """One page of the Tasks view."""

    tasks: tuple[TaskItem, ...]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.tasks) < self.total


_TaskRow = tuple[Any, ...]

# Only what a TaskItem shows: loading whole Activity objects costs more than the SQL.
_TASK_COLUMNS = (
    Activity.id,
    Activity.subject,
    Activity.due_at,
    Activity.status,
    Activity.priority,
    Activity.task_type,
    Activity.owner_id,
    Activity.sequence_enrollment_id,
)


def open_task_clause() -> ColumnElement[bool]:
    """WHERE: the activity is a task that is not completed."""
    return and_(Activity.kind == ActivityKind.TASK, Activity.status.in_(OPEN_TASK_STATUSES))


def bucket_range(clock: UserClock, bucket: TaskBucket) -> TimeRange:
    """The UTC due-time range of ``bucket`` on ``clock`` (overdue starts at the epoch)."""
    if bucket is TaskBucket.TODAY:
        return clock.today_range
    if bucket is TaskBucket.TOMORROW:
        return clock.tomorrow_range
    return TimeRange(EARLIEST_DUE, clock.today_range.start)


def _queue_order() -> list[ColumnElement[object]]:
    # The queue works through what is most urgent first: earliest due, then high priority
    # first among tasks due at the same time, then the older task.
    high_first = case((Activity.priority == TaskPriority.HIGH, 0), else_=1)
    return [Activity.due_at.asc(), high_first, Activity.id.asc()]


def _filtered(owner: User, clock: UserClock, filters: TaskFilters) -> Select[*_TaskRow]:
    query = select(*_TASK_COLUMNS).where(
        open_task_clause(), Activity.owner_id == owner.id, Activity.due_at.is_not(None)
    )
    if filters.bucket is not None:
        window = bucket_range(clock, filters.bucket)
        query = query.where(Activity.due_at >= window.start, Activity.due_at < window.end)
    if filters.due_within is not None:
        query = query.where(
            Activity.due_at >= filters.due_within.start, Activity.due_at < filters.due_within.end
        )
    if filters.priorities is not None:
        query = query.where(Activity.priority.in_(sorted(filters.priorities)))
    if filters.task_types is not None:
        query = query.where(Activity.task_type.in_(sorted(filters.task_types)))
    if filters.sequence is True:
        query = query.where(Activity.sequence_enrollment_id.is_not(None))
    elif filters.sequence is False:
        query = query.where(Activity.sequence_enrollment_id.is_(None))
    if filters.search:
        query = query.where(func.lower(Activity.subject).contains(filters.search.lower()))
    return query


def _items(session: Session, clock: UserClock, rows: Sequence[Any]) -> tuple[TaskItem, ...]:
    ids = [row.id for row in rows]
    contacts = contacts_of_activities(session, ids)
    deals = deals_of_activities(session, ids)
    return tuple(
        TaskItem(
            id=row.id,
            subject=row.subject or "(no subject)",
            due_at=row.due_at,
            due_local=clock.local(row.due_at) if row.due_at else None,
            status=TaskStatus(row.status) if row.status else TaskStatus.NOT_STARTED,
            priority=TaskPriority(row.priority) if row.priority else TaskPriority.NONE,
            task_type=row.task_type,
            owner_id=row.owner_id,
            is_sequence_task=row.sequence_enrollment_id is not None,
            is_late=row.due_at is not None and row.due_at < clock.now,
            contacts=contacts.get(row.id, ()),
            deals=deals.get(row.id, ()),
        )
        for row in rows
    )


def task_buckets(session: Session, user: User, *, now: datetime) -> TaskBuckets:
    """The user's open tasks due today, overdue and due tomorrow, in the user's time zone.

    One query for the three buckets (everything due before the end of tomorrow), plus one
    per association type for the tasks found.

    Args:
        session: An open session.
        user: Whose tasks (and whose clock).
        now: The current instant (aware).

    Returns:
        The three groups, each in queue order.
    """
    clock = clock_for(session, user, now=now)
    rows = list(
        session.execute(
            select(*_TASK_COLUMNS)
            .where(
                open_task_clause(),
                Activity.owner_id == user.id,
                Activity.due_at < clock.tomorrow_range.end,
            )
            .order_by(*_queue_order())
        )
    )
    items = _items(session, clock, rows)
    today, tomorrow = clock.today_range, clock.tomorrow_range

    def pick(window: TimeRange) -> tuple[TaskItem, ...]:
        return tuple(t for t in items if t.due_at is not None and t.due_at in window)

    return TaskBuckets(
        today=TaskGroup(TaskBucket.TODAY, pick(today)),
        overdue=TaskGroup(
            TaskBucket.OVERDUE,
            tuple(t for t in items if t.due_at is not None and t.due_at < today.start),
        ),
        tomorrow=TaskGroup(TaskBucket.TOMORROW, pick(tomorrow)),
        local_today=clock.today,
    )


def open_tasks(
    session: Session,
    user: User,
    *,
    now: datetime,
    filters: TaskFilters | None = None,
    offset: int = 0,
    limit: int = 25,
) -> TaskPage:
    """The user's open tasks with due times, filtered, in queue order, one page at a time.

    Args:
        session: An open session.
        user: Whose tasks (and whose clock, for the bucket filter).
        now: The current instant (aware).
        filters: What to keep (default: everything open).
        offset: How many tasks to skip.
        limit: Page size (at least 1).

    Returns:
        The page and the total number of matching tasks.
    """
    if limit < 1 or offset < 0:
        raise ValueError("limit must be positive and offset not negative")
    clock = clock_for(session, user, now=now)
    query = _filtered(user, clock, filters or TaskFilters())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(*_queue_order()).offset(offset).limit(limit)).all()
    return TaskPage(_items(session, clock, rows), total=total, offset=offset, limit=limit)


def recently_completed_tasks(
    session: Session,
    user: User,
    *,
    now: datetime,
    offset: int = 0,
    limit: int = 25,
) -> TaskPage:
    """The user's tasks completed in the last ``RECENTLY_COMPLETED``, newest first (the
    Tasks view lists them with a Reopen button).

    Args:
        session: An open session.
        user: Whose tasks (and whose clock).
        now: The current instant (aware).
        offset: How many tasks to skip.
        limit: Page size (at least 1).
    """
    if limit < 1 or offset < 0:
        raise ValueError("limit must be positive and offset not negative")
    clock = clock_for(session, user, now=now)
    query = select(*_TASK_COLUMNS).where(
        Activity.kind == ActivityKind.TASK,
        Activity.status == TaskStatus.COMPLETED,
        Activity.owner_id == user.id,
        Activity.completed_at >= now - RECENTLY_COMPLETED,
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Activity.completed_at.desc(), Activity.id.desc()).offset(offset).limit(limit)
    ).all()
    return TaskPage(_items(session, clock, rows), total=total, offset=offset, limit=limit)


def task_queue(
    session: Session,
    user: User,
    *,
    now: datetime,
    bucket: TaskBucket | None = None,
) -> tuple[int, ...]:
    """The ids of the tasks a task queue walks through, in order.

    Clicking a bucket's count starts the queue of that bucket; with no bucket the queue is
    overdue, then today, then tomorrow. Within a bucket: earliest due first, high priority
    first at the same due time.

    Args:
        session: An open session.
        user: Whose tasks.
        now: The current instant (aware).
        bucket: One bucket, or None for all three.
    """
    buckets = task_buckets(session, user, now=now)
    order = (bucket,) if bucket else BUCKET_ORDER
    return tuple(task.id for b in order for task in buckets.group(b).tasks)


def next_in_queue(queue: tuple[int, ...], done_ids: frozenset[int] | set[int]) -> int | None:
    """The first task of ``queue`` not in ``done_ids`` (None when the queue is finished)."""
    return next((task_id for task_id in queue if task_id not in done_ids), None)


def tasks_due_between(
    session: Session,
    owner: User,
    *,
    clock: UserClock,
    window: TimeRange,
    include_completed: bool = True,
) -> tuple[TaskItem, ...]:
    """The owner's tasks due within ``window``, earliest first (the Schedule lists them all).

    Args:
        session: An open session.
        owner: Whose tasks.
        clock: The owner's clock (local times, lateness).
        window: The UTC due-time range.
        include_completed: Keep completed tasks (the calendar shows them struck through).
    """
    query = select(*_TASK_COLUMNS).where(
        Activity.kind == ActivityKind.TASK,
        Activity.owner_id == owner.id,
        Activity.due_at >= window.start,
        Activity.due_at < window.end,
    )
    if not include_completed:
        query = query.where(Activity.status.in_(OPEN_TASK_STATUSES))
    rows = session.execute(query.order_by(*_queue_order())).all()
    return _items(session, clock, rows)
