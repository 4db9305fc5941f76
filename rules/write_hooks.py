"""What happens after every write from a button: the guided actions see it at once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from rules.guided_actions import ObjectRef, RefKind, evaluate
from storage.changes import log_change
from storage.models import ChangeKind, OwnedObject
from storage.outbox import Changes, enqueue_write

Touched = tuple[OwnedObject, int]

_REF_KIND = {
    OwnedObject.CONTACT: RefKind.CONTACT,
    OwnedObject.LEAD: RefKind.LEAD,
    OwnedObject.DEAL: RefKind.DEAL,
    OwnedObject.ACTIVITY: RefKind.ACTIVITY,
}


def after_write(session: Session, *, now: datetime, refs: Iterable[Touched]) -> None:
    """Re-evaluate the guided actions the touched records can affect, in the same
    transaction: an action that a write ended (the last call outcome logged) is gone, and
    one it started (a deal left without a next step) is there, when the caller commits.

    Args:
        session: The unit of work the write happened in (the caller commits).
        now: The time of the write.
        refs: The records the write touched (a deleted record too: its items expire).
    """
    session.flush()
    object_refs = [
        ObjectRef(_REF_KIND[kind], record_id) for kind, record_id in refs if kind in _REF_KIND
    ]
    if object_refs:
        evaluate(session, now=now, object_refs=object_refs)


def record_write(
    session: Session,
    *,
    object_type: OwnedObject,
    object_id: int,
    kind: ChangeKind,
    actor_id: int | None,
    at: datetime,
    external_id: str | None = None,
    detail: dict[str, Any] | None = None,
    changes: Changes | None = None,
) -> None:
    """Log a write in the change log, queue it for the connected CRM (when the session's
    outbox is on), then let the guided actions see it (``after_write``).

    Every button's write ends this way, so the three can never drift apart. ``changes``
    holds, per field, the value the user saw and the new one: the CRM side compares the
    first with its own before it overwrites anything.
    """
    log_change(
        session,
        object_type=object_type,
        object_id=object_id,
        kind=kind,
        actor_id=actor_id,
        at=at,
        external_id=external_id,
        detail=detail,
    )
    enqueue_write(
        session,
        object_type=object_type,
        object_id=object_id,
        kind=kind,
        actor_id=actor_id,
        at=at,
        external_id=external_id,
        changes=changes,
    )
    after_write(session, now=at, refs=[(object_type, object_id)])
