"""Activities (engagements): tasks, meetings, calls, emails and notes, in one table.

One table keeps "the last 100 activities of a deal" and "the feed of the last year" to a
single indexed scan; kind-specific columns are nullable and only meaningful for their kind.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, str_enum
from storage.types import UTCDateTime


class ActivityKind(StrEnum):
    TASK = "task"
    MEETING = "meeting"
    CALL = "call"
    EMAIL = "email"
    NOTE = "note"


class TaskStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    COMPLETED = "completed"
    DEFERRED = "deferred"


class TaskPriority(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class TaskType(StrEnum):
    TODO = "todo"
    CALL = "call"
    EMAIL = "email"
    LINKED_IN = "linked_in"


class MeetingOutcome(StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    RESCHEDULED = "rescheduled"
    NO_SHOW = "no_show"
    CANCELED = "canceled"


class CallStatus(StrEnum):
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    CANCELED = "canceled"
    IN_PROGRESS = "in_progress"


class EmailDirection(StrEnum):
    OUTGOING = "outgoing"  # HubSpot EMAIL
    INCOMING = "incoming"  # INCOMING_EMAIL
    FORWARDED = "forwarded"  # FORWARDED_EMAIL


OPEN_TASK_STATUSES = (
    TaskStatus.NOT_STARTED,
    TaskStatus.IN_PROGRESS,
    TaskStatus.WAITING,
    TaskStatus.DEFERRED,
)


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_owner_kind_time", "owner_id", "kind", "occurred_at"),
        Index("ix_activities_kind_time", "kind", "occurred_at"),
        Index("ix_activities_task_due", "kind", "status", "due_at"),
        # "Has a reply threaded onto this email arrived by now?" (rule 19), one probe per
        # email: every term of that lookup is in the key, so SQLite takes it without
        # statistics (in_reply_to_id alone lost to kind + time).
        Index("ix_activities_reply_lookup", "in_reply_to_id", "kind", "direction", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[ActivityKind] = mapped_column(str_enum(ActivityKind))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The time that orders the activity in feeds and timelines: a task's due time, a
    # meeting's or call's start, an email's send time, a note's creation time.
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)

    # Tasks.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[TaskStatus | None] = mapped_column(str_enum(TaskStatus))
    priority: Mapped[TaskPriority | None] = mapped_column(str_enum(TaskPriority))
    task_type: Mapped[TaskType | None] = mapped_column(str_enum(TaskType))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A task created by a sequence step.
    sequence_enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("sequence_enrollments.id"), index=True
    )
    # A follow-up task of a meeting or call (rule 7 expires when these are completed).
    follow_up_of_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"), index=True)

    # Meetings and calls.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Meeting: a MeetingOutcome value. Call: the disposition label (e.g. "Connected").
    outcome: Mapped[str | None] = mapped_column(String(64))
    meeting_link: Mapped[str | None] = mapped_column(String(1000))
    location: Mapped[str | None] = mapped_column(String(300))
    # [{"name": ..., "email": ...}, ...]
    attendees: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    call_status: Mapped[CallStatus | None] = mapped_column(str_enum(CallStatus))
    # True: made with the built-in calling feature; False: logged by hand.
    via_calling_feature: Mapped[bool | None] = mapped_column(Boolean)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)

    # Emails.
    direction: Mapped[EmailDirection | None] = mapped_column(str_enum(EmailDirection))
    from_email: Mapped[str | None] = mapped_column(String(320))
    to_emails: Mapped[list[str] | None] = mapped_column(JSON)
    cc_emails: Mapped[list[str] | None] = mapped_column(JSON)
    primary_recipient: Mapped[str | None] = mapped_column(String(320))
    tracked: Mapped[bool | None] = mapped_column(Boolean)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    thread_id: Mapped[str | None] = mapped_column(String(128), index=True)
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))

    contacts: Mapped[list[Any]] = relationship("Contact", secondary="activity_contacts")
    companies: Mapped[list[Any]] = relationship("Company", secondary="activity_companies")
    deals: Mapped[list[Any]] = relationship("Deal", secondary="activity_deals")
    leads: Mapped[list[Any]] = relationship("Lead", secondary="activity_leads")


class ActivityContact(Base):
    __tablename__ = "activity_contacts"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ActivityCompany(Base):
    __tablename__ = "activity_companies"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
    )
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ActivityDeal(Base):
    __tablename__ = "activity_deals"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
    )
    deal_id: Mapped[int] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ActivityLead(Base):
    __tablename__ = "activity_leads"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
    )
    lead_id: Mapped[int] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True, index=True
    )
