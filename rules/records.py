"""Small read models shared by the workspace views, and set-based loaders for their links."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ActivityContact, ActivityDeal, Contact, Deal


@dataclass(frozen=True)
class RecordRef:
    """A record to link to from a view: its id and the name to show."""

    id: int
    name: str


def contact_display_name(first_name: str | None, last_name: str | None, email: str | None) -> str:
    """What a person reads for a contact: the full name, else the email."""
    name = f"{first_name or ''} {last_name or ''}".strip()
    return name or (email or "(no name)")


def contacts_of_activities(
    session: Session, activity_ids: Iterable[int]
) -> dict[int, tuple[RecordRef, ...]]:
    """The contacts associated with each activity, in one query (sorted by name)."""
    ids = list(set(activity_ids))
    found: dict[int, list[RecordRef]] = defaultdict(list)
    if not ids:
        return {}
    rows = session.execute(
        select(
            ActivityContact.activity_id,
            Contact.id,
            Contact.first_name,
            Contact.last_name,
            Contact.email,
        )
        .join(Contact, Contact.id == ActivityContact.contact_id)
        .where(ActivityContact.activity_id.in_(ids))
    )
    for activity_id, contact_id, first, last, email in rows:
        found[activity_id].append(RecordRef(contact_id, contact_display_name(first, last, email)))
    return {key: tuple(sorted(refs, key=lambda r: (r.name, r.id))) for key, refs in found.items()}


def deals_of_activities(
    session: Session, activity_ids: Iterable[int]
) -> dict[int, tuple[RecordRef, ...]]:
    """The deals associated with each activity, in one query (sorted by name)."""
    ids = list(set(activity_ids))
    found: dict[int, list[RecordRef]] = defaultdict(list)
    if not ids:
        return {}
    rows = session.execute(
        select(ActivityDeal.activity_id, Deal.id, Deal.name)
        .join(Deal, Deal.id == ActivityDeal.deal_id)
        .where(ActivityDeal.activity_id.in_(ids))
    )
    for activity_id, deal_id, name in rows:
        found[activity_id].append(RecordRef(deal_id, name))
    return {key: tuple(sorted(refs, key=lambda r: (r.name, r.id))) for key, refs in found.items()}


def aggregate_time(value: datetime | str | None) -> datetime | None:
    """An aware UTC datetime from a MIN/MAX aggregate.

    Aggregates bypass the column type: SQLite hands back naive UTC text, PostgreSQL an aware
    value.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
