"""Writing and claiming outbox rows (``outbox_writes``).

A write enqueues a row only when its session's outbox is on: ``bot`` turns it on for every
session when a CRM is connected (``enable_outbox`` on the session factory), so the domain
never asks which CRM, or whether there is one. The row commits with the change itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import and_, delete, event, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from storage.models import (
    OUTBOX_OPEN_STATES,
    Activity,
    ChangeKind,
    OutboxOperation,
    OutboxState,
    OutboxWrite,
    OwnedObject,
)
from storage.types import utc

# The key in ``Session.info`` that turns the outbox on; its value names the CRM for people.
OUTBOX_INFO_KEY = "salesbot.outbox"
# A callable in ``Session.info``: called after a commit that queued a write (wakes a sender).
WAKE_INFO_KEY = "salesbot.outbox.wake"
_QUEUED_KEY = "salesbot.outbox.queued"
_ROWS_KEY = "salesbot.outbox.rows"

_OPERATIONS = {
    ChangeKind.CREATED: OutboxOperation.CREATE,
    ChangeKind.DELETED: OutboxOperation.DELETE,
}

Changes = Mapping[str, tuple[object, object]]


def enable_outbox(
    factory: sessionmaker[Session], *, crm_name: str, wake: Callable[[], None] | None = None
) -> None:
    """Every session ``factory`` makes from now on queues its writes for the CRM.

    Args:
        factory: The sessions the app writes with.
        crm_name: How users call the CRM ("HubSpot"), in "saving to ..." lines.
        wake: Called after each commit that queued a write, so a sender goes at once.
    """
    info = factory.kw.setdefault("info", {})
    info[OUTBOX_INFO_KEY] = crm_name
    if wake is not None:
        info[WAKE_INFO_KEY] = wake


def outbox_enabled(session: Session) -> bool:
    return bool(session.info.get(OUTBOX_INFO_KEY))


def crm_name(session: Session) -> str:
    """The connected CRM's name for people ("HubSpot"), or "the CRM"."""
    name = session.info.get(OUTBOX_INFO_KEY)
    return name if isinstance(name, str) else "the CRM"


def queued_in(session: Session) -> bool:
    """Whether this session's transaction (not yet committed) queued a write."""
    return bool(session.info.get(_QUEUED_KEY))


@event.listens_for(Session, "after_commit")
def _wake_sender(session: Session) -> None:
    if session.info.pop(_QUEUED_KEY, False):
        wake = session.info.get(WAKE_INFO_KEY)
        if callable(wake):
            wake()


@event.listens_for(Session, "after_rollback")
def _forget_queued(session: Session) -> None:
    session.info.pop(_QUEUED_KEY, None)
    session.info.pop(_ROWS_KEY, None)


def json_value(value: object) -> Any:
    """A field value as JSON: times and dates in ISO 8601, amounts as strings, enums' values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def enqueue_write(
    session: Session,
    *,
    object_type: OwnedObject,
    object_id: int,
    kind: ChangeKind,
    actor_id: int | None,
    at: datetime,
    external_id: str | None = None,
    changes: Changes | None = None,
) -> OutboxWrite | None:
    """Queue a write for the CRM, in the caller's transaction; None when the outbox is off.

    Args:
        session: The unit of work that holds the change (the caller commits both).
        object_type: The kind of record written.
        object_id: Its id (for a delete: before the row goes).
        kind: What the write did: CREATED and DELETED create and delete, the rest update.
        actor_id: Who clicked.
        at: When.
        external_id: The record's external id.
        changes: For an update, field -> (the value the user saw, the new value).
    """
    if not outbox_enabled(session):
        return None
    record_kind = object_type.value
    if object_type is OwnedObject.ACTIVITY:
        activity = session.get(Activity, object_id)
        if activity is not None:
            record_kind = activity.kind.value
    operation = _OPERATIONS.get(kind, OutboxOperation.UPDATE)
    changes = changes or {}
    row = OutboxWrite(
        object_type=object_type,
        object_id=object_id,
        record_kind=record_kind,
        operation=operation,
        external_id=external_id,
        fields={name: json_value(new) for name, (_old, new) in changes.items()},
        seen={name: json_value(old) for name, (old, _new) in changes.items()},
        marker=f"sb{uuid.uuid4().hex}" if operation is OutboxOperation.CREATE else None,
        actor_id=actor_id,
        created_at=utc(at),
        state=OutboxState.PENDING,
        attempts=0,
        force=False,
    )
    session.add(row)
    session.info[_QUEUED_KEY] = True
    session.info.setdefault(_ROWS_KEY, []).append(row)
    return row


def queued_rows(session: Session) -> list[int]:
    """The ids of the rows this session queued (call after the commit, before closing)."""
    return [row.id for row in session.info.get(_ROWS_KEY, []) if row.id is not None]


def states(session: Session, row_ids: list[int]) -> list[OutboxWrite]:
    """The rows ``row_ids``, as they stand now."""
    if not row_ids:
        return []
    return list(session.scalars(select(OutboxWrite).where(OutboxWrite.id.in_(row_ids))))


def any_due(session: Session, *, now: datetime) -> bool:
    """Whether a pending row is due (claimed or not): something may go out now."""
    due = or_(OutboxWrite.next_attempt_at.is_(None), OutboxWrite.next_attempt_at <= now)
    found = session.scalar(
        select(OutboxWrite.id).where(OutboxWrite.state == OutboxState.PENDING, due).limit(1)
    )
    return found is not None


def claim(
    session: Session, *, holder: str, now: datetime, ttl: timedelta, limit: int = 100
) -> list[OutboxWrite]:
    """Take the lease on up to ``limit`` records' next rows, oldest first; the caller commits.

    Only a record's oldest open row can be taken (rows go out in order per record), and a
    conditional UPDATE takes it, so two replicas never hold the same record.
    """
    earlier = aliased(OutboxWrite)
    blocked = exists().where(
        earlier.object_type == OutboxWrite.object_type,
        earlier.object_id == OutboxWrite.object_id,
        earlier.id < OutboxWrite.id,
        earlier.state.in_(OUTBOX_OPEN_STATES),
    )
    free = or_(
        OutboxWrite.claimed_until.is_(None),
        OutboxWrite.claimed_until <= now,
        OutboxWrite.claimed_by == holder,
    )
    due = or_(OutboxWrite.next_attempt_at.is_(None), OutboxWrite.next_attempt_at <= now)
    candidates = session.scalars(
        select(OutboxWrite.id)
        .where(OutboxWrite.state == OutboxState.PENDING, due, free, ~blocked)
        .order_by(OutboxWrite.id)
        .limit(limit)
    ).all()
    if not candidates:
        return []
    until = now + ttl
    # One conditional UPDATE for all: the database checks each row's condition as it
    # takes it, so a row another replica took meanwhile stays theirs.
    session.execute(
        update(OutboxWrite)
        .where(OutboxWrite.id.in_(candidates), OutboxWrite.state == OutboxState.PENDING, free)
        .values(claimed_by=holder, claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    return list(
        session.scalars(
            select(OutboxWrite)
            .where(
                OutboxWrite.id.in_(candidates),
                OutboxWrite.claimed_by == holder,
                OutboxWrite.claimed_until == until,
            )
            .order_by(OutboxWrite.id)
            .execution_options(populate_existing=True)
        )
    )


def latest_write(
    session: Session, *, object_type: OwnedObject, object_id: int
) -> OutboxWrite | None:
    """The newest outbox row of one record, or None (nothing queued, or no outbox)."""
    return session.scalar(
        select(OutboxWrite)
        .where(OutboxWrite.object_type == object_type, OutboxWrite.object_id == object_id)
        .order_by(OutboxWrite.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class OutboxSummary:
    """Where the outbox stands, for ``status``."""

    pending: int
    conflicts: int
    failed: int
    oldest_pending_at: datetime | None
    failure_reasons: list[tuple[str, int]]


def summary(session: Session) -> OutboxSummary:
    counts = dict(
        session.execute(select(OutboxWrite.state, func.count()).group_by(OutboxWrite.state)).all()
    )
    oldest = session.scalar(
        select(func.min(OutboxWrite.created_at)).where(OutboxWrite.state == OutboxState.PENDING)
    )
    reasons = session.execute(
        select(OutboxWrite.last_error, func.count())
        .where(and_(OutboxWrite.state == OutboxState.FAILED, OutboxWrite.last_error.is_not(None)))
        .group_by(OutboxWrite.last_error)
        .order_by(func.count().desc())
        .limit(10)
    ).all()
    return OutboxSummary(
        pending=int(counts.get(OutboxState.PENDING, 0)),
        conflicts=int(counts.get(OutboxState.CONFLICT, 0)),
        failed=int(counts.get(OutboxState.FAILED, 0)),
        oldest_pending_at=utc(oldest) if oldest else None,
        failure_reasons=[(str(reason), int(count)) for reason, count in reasons],
    )


def requeue(session: Session, row: OutboxWrite, *, force: bool, now: datetime) -> None:
    """Send a failed or conflicting row again (``force``: past a conflict); the commit
    wakes the sender."""
    del now
    row.state = OutboxState.PENDING
    row.force = force
    row.attempts = 0
    row.next_attempt_at = None
    row.claimed_by = row.claimed_until = None
    row.dismissed_at = None  # failing again, it shows again
    session.info[_QUEUED_KEY] = True
    session.info.setdefault(_ROWS_KEY, []).append(row)


def await_reply(session: Session, row_ids: list[int], reply: Mapping[str, Any]) -> None:
    """Remember where the user was told that the rows ``row_ids`` (one click's) are still
    on their way; the caller commits, which wakes the sender (so rows that settled in the
    meantime are answered at once)."""
    rows = states(session, row_ids)
    if not rows:
        return
    key = str(uuid.uuid4())
    for row in rows:
        row.reply_key = key
        row.reply = dict(reply)
    session.info[_QUEUED_KEY] = True


@dataclass(frozen=True)
class DueReply:
    """A click whose rows have all settled: where its answer is, and the rows."""

    key: str
    reply: dict[str, Any]
    row_ids: list[int]
    actor_id: int | None


def replies_due(session: Session, *, limit: int = 50) -> list[DueReply]:
    """The clicks waiting for an update whose rows have settled (or one of them is not
    saved: that is news already), oldest first."""
    rows = session.scalars(
        select(OutboxWrite)
        .where(OutboxWrite.reply_key.is_not(None))
        .order_by(OutboxWrite.id)
        .limit(limit * 5)
    ).all()
    groups: dict[str, list[OutboxWrite]] = {}
    for row in rows:
        assert row.reply_key is not None
        groups.setdefault(row.reply_key, []).append(row)
    due = []
    for key, members in groups.items():
        stuck = any(r.state in (OutboxState.FAILED, OutboxState.CONFLICT) for r in members)
        if not stuck and any(r.state is OutboxState.PENDING for r in members):
            continue
        first = members[0]
        due.append(DueReply(key, dict(first.reply or {}), [r.id for r in members], first.actor_id))
    return due[:limit]


def take_reply(session: Session, key: str) -> bool:
    """Take the click ``key`` to answer it: its rows forget where its answer is; False when
    another replica took it first (the caller commits before answering)."""
    result = session.execute(
        update(OutboxWrite)
        .where(OutboxWrite.reply_key == key)
        .values(reply_key=None, reply=None)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def to_notify(session: Session, *, limit: int = 50) -> list[int]:
    """Rows whose user has not heard of their conflict or failure yet."""
    return list(
        session.scalars(
            select(OutboxWrite.id)
            .where(
                OutboxWrite.state.in_((OutboxState.CONFLICT, OutboxState.FAILED)),
                OutboxWrite.notified_at.is_(None),
            )
            .order_by(OutboxWrite.id)
            .limit(limit)
        )
    )


def prune_settled(session: Session, *, older_than: datetime) -> int:
    """Forget writes settled before ``older_than`` (sent, or dropped by the user's choice).

    Pending, conflicting and failed rows stay whatever their age: they still ask for
    something. Returns how many rows went.
    """
    settled = (OutboxState.SENT, OutboxState.DISCARDED)
    moment = func.coalesce(OutboxWrite.sent_at, OutboxWrite.created_at)
    result = session.execute(
        delete(OutboxWrite).where(OutboxWrite.state.in_(settled), moment < utc(older_than))
    )
    return int(getattr(result, "rowcount", 0) or 0)
