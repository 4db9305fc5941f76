"""The outbox: writes made in salesbot that an outside CRM must receive, in order, once.

A button's write adds a row here in the same transaction as the change itself (only when
the session's outbox is on: a CRM is connected). A connector's worker sends the rows;
nothing in the domain reads them back except to tell the user where a change stands.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, str_enum
from storage.models.crm import OwnedObject
from storage.types import UTCDateTime


class OutboxOperation(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class OutboxState(StrEnum):
    PENDING = "pending"  # to send (again at ``next_attempt_at`` after a transient failure)
    SENT = "sent"  # the CRM has it
    FAILED = "failed"  # the CRM refused it for good; ``last_error`` says why
    CONFLICT = "conflict"  # changed in the CRM since the user saw it: the user decides
    DISCARDED = "discarded"  # the user kept the CRM's value, or the record went first


# States in which a row still holds back the rows after it for the same record.
OUTBOX_OPEN_STATES = (OutboxState.PENDING, OutboxState.CONFLICT)


class OutboxWrite(Base):
    """One write to deliver: which record, what changed, and the values the user saw."""

    __tablename__ = "outbox_writes"
    __table_args__ = (
        Index("ix_outbox_writes_record", "object_type", "object_id", "id"),
        Index("ix_outbox_writes_state", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[OwnedObject] = mapped_column(str_enum(OwnedObject))
    object_id: Mapped[int] = mapped_column(Integer)
    # "task", "meeting", "call", "deal", ...: the record's kind, known even after a delete.
    record_kind: Mapped[str] = mapped_column(String(20))
    operation: Mapped[OutboxOperation] = mapped_column(str_enum(OutboxOperation))
    # The record's external id when the write was made (a delete leaves nothing else).
    external_id: Mapped[str | None] = mapped_column(String(64))
    # Field name -> the new value, and -> the value the user saw before (JSON values).
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seen: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A create's own token, kept in the CRM record, to find it after an unknown outcome.
    marker: Mapped[str | None] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[OutboxState] = mapped_column(str_enum(OutboxState), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set before a create goes out: after a crash it says "the CRM may already have it".
    sending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    crm_id: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # For CONFLICT: per field, the CRM's value, who set it and when.
    conflict: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Forcing past a conflict: the user chose "apply mine".
    force: Mapped[bool] = mapped_column(default=False)
    # The per-record lease: one replica sends a record's rows at a time.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Whether the user has been told of a conflict or a failure (told once).
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
