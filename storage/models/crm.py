"""CRM records: pipelines, companies, contacts, leads, deals, sequences, assignments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, str_enum
from storage.types import UTCDateTime


class PipelineObject(StrEnum):
    DEAL = "deal"
    LEAD = "lead"


class StageState(StrEnum):
    """Open, or closed one way or the other.

    For deals: won = closed-won, lost = closed-lost. For leads: won = qualified,
    lost = disqualified.
    """

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class OwnedObject(StrEnum):
    """Record types whose owner is tracked in the assignment history."""

    CONTACT = "contact"
    COMPANY = "company"
    LEAD = "lead"
    DEAL = "deal"
    ACTIVITY = "activity"


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    FINISHED = "finished"
    UNENROLLED = "unenrolled"


class Pipeline(Base):
    __tablename__ = "pipelines"
    __table_args__ = (UniqueConstraint("object_type", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[PipelineObject] = mapped_column(str_enum(PipelineObject))
    label: Mapped[str] = mapped_column(String(200))

    stages: Mapped[list[PipelineStage]] = relationship(
        back_populates="pipeline", order_by="PipelineStage.display_order"
    )


class PipelineStage(Base):
    __tablename__ = "pipeline_stages"
    __table_args__ = (UniqueConstraint("pipeline_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    # 0 is the first stage of the pipeline ("in the first stage" in rules 2 and 18).
    display_order: Mapped[int] = mapped_column(Integer)
    state: Mapped[StageState] = mapped_column(str_enum(StageState), default=StageState.OPEN)
    # Win probability 0..1, when the pipeline defines one.
    probability: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))

    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    domain: Mapped[str | None] = mapped_column(String(255), index=True)
    is_target_account: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    owner_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    # Lower-cased part after "@" (rules 9 and 11 compare it with the owner's domain).
    email_domain: Mapped[str | None] = mapped_column(String(255))
    # HubSpot lifecycle stage internal value: subscriber, lead, ..., customer, evangelist, other.
    lifecycle_stage: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    owner_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Primary company.
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The contact's latest open of a tracked email, as a CRM keeps it per contact (HubSpot:
    # no per-email open time); a connector derives the emails' opened_at from it.
    email_last_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    company: Mapped[Company | None] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or (self.email or "")


class Lead(Base):
    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    owner_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("pipeline_stages.id"), index=True)
    stage_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the lead entered a lost (disqualified) stage.
    disqualified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disqualification_reason: Mapped[str | None] = mapped_column(String(200))

    contact: Mapped[Contact | None] = relationship()
    company: Mapped[Company | None] = relationship()
    stage: Mapped[PipelineStage] = relationship()


class Deal(Base):
    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    owner_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("pipeline_stages.id"), index=True)
    stage_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    close_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_step: Mapped[str | None] = mapped_column(Text)
    next_step_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Primary company.
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)

    company: Mapped[Company | None] = relationship()
    stage: Mapped[PipelineStage] = relationship()
    pipeline: Mapped[Pipeline] = relationship()
    contacts: Mapped[list[Contact]] = relationship(secondary="deal_contacts")
    scores: Mapped[list[DealScore]] = relationship(
        back_populates="deal", order_by="DealScore.recorded_at"
    )


class DealContact(Base):
    """Contacts associated with a deal (many to many)."""

    __tablename__ = "deal_contacts"

    deal_id: Mapped[int] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    associated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DealScore(Base):
    """One reading of HubSpot's deal score (0-100); a falling series is a risk."""

    __tablename__ = "deal_scores"
    __table_args__ = (UniqueConstraint("deal_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    score: Mapped[int] = mapped_column(Integer)

    deal: Mapped[Deal] = relationship(back_populates="scores")


class Assignment(Base):
    """History of who owned a record from when: "newly assigned" and "reassigned" read it."""

    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_object", "object_type", "object_id", "assigned_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[OwnedObject] = mapped_column(str_enum(OwnedObject))
    object_id: Mapped[int] = mapped_column(Integer)
    # None: the record was unassigned.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Sequence(Base):
    __tablename__ = "sequences"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SequenceEnrollment(Base):
    __tablename__ = "sequence_enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequences.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[EnrollmentStatus] = mapped_column(
        str_enum(EnrollmentStatus), default=EnrollmentStatus.ACTIVE
    )
    current_step: Mapped[int] = mapped_column(Integer, default=1)

    sequence: Mapped[Sequence] = relationship()
