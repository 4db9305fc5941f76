"""A log of the writes made from Slack: who changed what and when; tombstones of deletions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, str_enum
from storage.models.crm import OwnedObject
from storage.types import UTCDateTime


class ChangeKind(StrEnum):
    """What a button or modal did to a record."""

    CREATED = "created"
    COMPLETED = "completed"
    REOPENED = "reopened"
    RESCHEDULED = "rescheduled"
    REASSIGNED = "reassigned"
    EDITED = "edited"
    DELETED = "deleted"
    OUTCOME_LOGGED = "outcome_logged"
    STAGE_CHANGED = "stage_changed"
    UPDATED = "updated"


class RecordChange(Base):
    """One write made by a user. For a deleted record this row is all that is left of it.

    No foreign key to the record itself: the row must outlive a hard delete, which is what
    lets a late click on a deleted task say "already deleted by Dana at 9:14".
    """

    __tablename__ = "record_changes"
    __table_args__ = (Index("ix_record_changes_object", "object_type", "object_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[OwnedObject] = mapped_column(str_enum(OwnedObject))
    object_id: Mapped[int] = mapped_column(Integer)
    # The record's external id, so an importer can tell a deleted record from a new one.
    external_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[ChangeKind] = mapped_column(str_enum(ChangeKind))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What changed, e.g. {"subject": "Call Acme"} or {"outcome": "no_show"}.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
