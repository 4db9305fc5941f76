"""Writing and claiming outbox rows (``outbox_writes``).

A write enqueues a row only when its session's outbox is on: ``bot`` turns it on for every
session when a CRM is connected (``enable_outbox`` on the session factory), so the domain
never asks which CRM, or whether there is one. The row commits with the change itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
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

# The key in ``Session.info`` that turns the outbox on.
OUTBOX_INFO_KEY = "salesbot.outbox"

_OPERATIONS = {
    ChangeKind.CREATED: OutboxOperation.CREATE,
    ChangeKind.DELETED: OutboxOperation.DELETE,
}

Changes = Mapping[str, tuple[object, object]]


def enable_outbox(factory: sessionmaker[Session]) -> None:
    """Every session ``factory`` makes from now on queues its writes for the CRM."""
    factory.kw.setdefault("info", {})[OUTBOX_INFO_KEY] = True


def outbox_enabled(session: Session) -> bool:
    return bool(session.info.get(OUTBOX_INFO_KEY))


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
    return row


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
    taken: list[int] = []
    for row_id in candidates:
        won = session.execute(
            update(OutboxWrite)
            .where(OutboxWrite.id == row_id, OutboxWrite.state == OutboxState.PENDING, free)
            .values(claimed_by=holder, claimed_until=now + ttl)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if won:
            taken.append(row_id)
    if not taken:
        return []
    return list(
        session.scalars(
            select(OutboxWrite).where(OutboxWrite.id.in_(taken)).order_by(OutboxWrite.id)
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
