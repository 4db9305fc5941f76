"""Changing who owns a record, with its history kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from storage.models import Activity, Assignment, Company, Contact, Deal, Lead, OwnedObject
from storage.types import utc

Owned = Contact | Company | Lead | Deal | Activity

_OBJECT_TYPE: dict[type, OwnedObject] = {
    Contact: OwnedObject.CONTACT,
    Company: OwnedObject.COMPANY,
    Lead: OwnedObject.LEAD,
    Deal: OwnedObject.DEAL,
    Activity: OwnedObject.ACTIVITY,
}


def assign(session: Session, record: Owned, owner_id: int | None, *, at: datetime) -> bool:
    """Make ``owner_id`` the owner of ``record`` from ``at``; return False if it already was.

    The record must have been flushed (it needs its id). Activities keep no
    ``owner_assigned_at`` column; their history lives in ``assignments`` only.
    """
    if record.id is None:
        session.flush()
    if record.owner_id == owner_id and (
        isinstance(record, Activity) or record.owner_assigned_at is not None
    ):
        return False
    at = utc(at)
    record.owner_id = owner_id
    if not isinstance(record, Activity):
        record.owner_assigned_at = at
    session.add(
        Assignment(
            object_type=_OBJECT_TYPE[type(record)],
            object_id=record.id,
            owner_id=owner_id,
            assigned_at=at,
        )
    )
    return True
