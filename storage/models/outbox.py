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


class WriteReason(StrEnum):
    """Why the CRM did not take a write as it was (``OutboxWrite.reason_code``).

    The connector sets the code and the values its sentence names (``reason_values``); the
    domain words it in the reader's language (``rules.crm_writes.wording.REASONS``);
    ``last_error`` keeps the same reason in English for the logs and ``status``.
    """

    DELETED = "deleted"  # the record was deleted in the CRM
    NEVER_REACHED = "never_reached"  # an update of a record whose create never got there
    MISSING_SCOPE = "missing_scope"  # values: scopes (a list, maybe empty)
    CRM_CONFLICT = "crm_conflict"  # the CRM answered 409; values: detail
    MISSING_PROPERTY = "missing_property"  # values: property
    REFUSED_VALUES = "refused_values"  # values: detail (the CRM's own message)
    NO_CALL_OUTCOME = "no_call_outcome"  # values: label
    BUDGET_SPENT = "budget_spent"  # values: detail
    GAVE_UP = "gave_up"  # values: attempts, cause ({"code", "values"}) or detail
    CHANGED_SINCE_SEEN = "changed_since_seen"
    KEPT_THEIRS = "kept_theirs"
    # Saved, but without links to records the CRM no longer has; values: names (a list)
    LINKS_GONE = "links_gone"


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
    # Why it failed (or what it could not do), as a ``WriteReason`` and its values; rows
    # from before these columns have only ``last_error``.
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason_values: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # Where its user was told "saving…": written by ``handlers`` (opaque here) and read back
    # once the rows of that click (one ``reply_key``) have settled, then cleared.
    reply_key: Mapped[str | None] = mapped_column(String(36), index=True)
    reply: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # The user dismissed its failure from the Home tab (it stays failed for ``status``).
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
