"""The task lists a user works through one at a time: due today, overdue, due tomorrow."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.op_result import user_zone
from storage.models import OPEN_TASK_STATUSES, Activity, ActivityKind, User

BUCKETS = ("due_today", "overdue", "due_tomorrow")


def bucket_task_ids(session: Session, user: User, bucket: str, *, now: datetime) -> list[int]:
    """Ids of ``user``'s open tasks in ``bucket``, in the order to work through them.

    Days are the user's local days: "overdue" is due before today, "due today" is due any
    time today (also earlier today), "due tomorrow" is due tomorrow. Overdue tasks come
    oldest first; the others by due time. An unknown bucket is an empty list.
    """
    if bucket not in BUCKETS:
        return []
    zone = user_zone(session, user)
    today = now.astimezone(zone).date()
    start_of = lambda day: datetime.combine(day, time(0), tzinfo=zone)  # noqa: E731
    starts = {
        "overdue": (None, start_of(today)),
        "due_today": (start_of(today), start_of(today + timedelta(days=1))),
        "due_tomorrow": (
            start_of(today + timedelta(days=1)),
            start_of(today + timedelta(days=2)),
        ),
    }
    low, high = starts[bucket]
    query = select(Activity.id).where(
        Activity.kind == ActivityKind.TASK,
        Activity.owner_id == user.id,
        Activity.status.in_(OPEN_TASK_STATUSES),
        Activity.due_at < high,
    )
    if low is not None:
        query = query.where(Activity.due_at >= low)
    return list(session.scalars(query.order_by(Activity.due_at, Activity.id)))


def next_in_queue(
    session: Session, user: User, bucket: str, *, skipped: list[int], now: datetime
) -> tuple[Activity | None, int, int]:
    """The next task to show, its position (1-based) and the queue's length.

    Skipped tasks still count in the length; the position counts them as passed.
    """
    ids = bucket_task_ids(session, user, bucket, now=now)
    passed = [task_id for task_id in ids if task_id in set(skipped)]
    remaining = [task_id for task_id in ids if task_id not in set(skipped)]
    if not remaining:
        return None, len(ids), len(ids)
    return session.get(Activity, remaining[0]), len(passed) + 1, len(ids)
