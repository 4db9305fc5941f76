"""Writing and reading the change log (``record_changes``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ChangeKind, OwnedObject, RecordChange
from storage.types import utc


def log_change(
    session: Session,
    *,
    object_type: OwnedObject,
    object_id: int,
    kind: ChangeKind,
    actor_id: int | None,
    at: datetime,
    external_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> RecordChange:
    """Add one change row (the caller commits, together with the change itself)."""
    row = RecordChange(
        object_type=object_type,
        object_id=object_id,
        external_id=external_id,
        kind=kind,
        actor_id=actor_id,
        at=utc(at),
        detail=detail or {},
    )
    session.add(row)
    return row


def last_change(
    session: Session, *, object_type: OwnedObject, object_id: int, kind: ChangeKind | None = None
) -> RecordChange | None:
    """The latest change of ``kind`` (any kind when None) to one record, or None."""
    query = select(RecordChange).where(
        RecordChange.object_type == object_type, RecordChange.object_id == object_id
    )
    if kind is not None:
        query = query.where(RecordChange.kind == kind)
    return session.scalar(query.order_by(RecordChange.at.desc(), RecordChange.id.desc()).limit(1))
