"""Daily digests: one delivery row per recipient, kind and local date; team defaults."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, str_enum
from storage.types import UTCDateTime


class DigestKind(StrEnum):
    REP = "rep"  # a rep's DM; recipient_id is a user id
    MANAGER = "manager"  # a team channel; recipient_id is a team id


class DeliveryStatus(StrEnum):
    CLAIMED = "claimed"  # a scheduler took it and is composing or sending
    SENT = "sent"  # Slack accepted it: channel and message ts are set
    FAILED = "failed"  # Slack refused it or kept failing: reason is set
    SKIPPED = "skipped"  # nothing to say and the recipient chose "send nothing"
    MISSED = "missed"  # given up, or its catch-up window closed unsent: reason is set


class DigestDelivery(Base):
    """The claim, then the outcome, of one digest.

    The unique key is what makes delivery exactly once: every scheduler (one per replica)
    inserts the row before sending, with insert-or-ignore, and only the one whose insert
    took effect sends.
    """

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("kind", "recipient_id", "local_date"),
        Index("ix_digest_deliveries_local_date_status", "local_date", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DigestKind] = mapped_column(str_enum(DigestKind))
    recipient_id: Mapped[int] = mapped_column(Integer)
    # The recipient's own calendar day the digest is for.
    local_date: Mapped[date] = mapped_column(Date)
    # When it was due (the local digest time, in UTC).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus))
    # Claims (first and re-claims): a re-claim compares and sets this counter.
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str] = mapped_column(String(128))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    # A permanent failure (user gone, channel gone) is never retried.
    permanent: Mapped[bool] = mapped_column(Boolean, default=False)


class TeamDigestSettings(Base):
    """A team's defaults for its reps' digests and the time of its manager digest.

    A missing row means 08:00 on weekdays. A rep's own ``user_preferences`` win over these.
    """

    __tablename__ = "team_digest_settings"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    digest_time: Mapped[time] = mapped_column(Time, default=time(8, 0))
    # ISO weekday numbers (1 = Monday).
    digest_weekdays: Mapped[list[int]] = mapped_column(JSON, default=lambda: [1, 2, 3, 4, 5])
    manager_digest_time: Mapped[time] = mapped_column(Time, default=time(8, 30))


class SendBudget(Base):
    """A pace shared by every replica that posts to one Slack workspace.

    Times are seconds since the epoch (every replica's clock, kept by NTP): the next free
    slot, and until when a 429's Retry-After holds every sender.
    """

    __tablename__ = "slack_send_budgets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_slot: Mapped[float] = mapped_column(Float, default=0.0)
    held_until: Mapped[float] = mapped_column(Float, default=0.0)
