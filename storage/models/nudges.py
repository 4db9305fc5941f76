"""Nudges: a rep's opt-in DM the moment a high-value guided action appears.

``nudge_settings`` holds each rep's choices (a missing row: no nudges, they are opt-in);
``nudge_claims`` has one row per action ever nudged. Its unique action id is what makes a
nudge go out once, whichever replica's tick gets there first (as digests' claims do).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, str_enum
from storage.types import UTCDateTime


class NudgeStatus(StrEnum):
    CLAIMED = "claimed"  # taken by a tick, being sent
    SENT = "sent"  # in a DM
    FAILED = "failed"  # Slack refused; not retried (a nudge late is no nudge)
    IN_DIGEST = "in_digest"  # already in a digest sent within the hour: never nudged


class NudgeSettings(Base):
    __tablename__ = "nudge_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # The nudge kinds switched on (rules.digests.nudges.NudgeKind values); empty: no nudges.
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Quiet hours in the user's own zone, start to end (may wrap past midnight).
    quiet_start: Mapped[time] = mapped_column(Time, default=time(19, 0))
    quiet_end: Mapped[time] = mapped_column(Time, default=time(8, 0))
    weekends: Mapped[bool] = mapped_column(Boolean, default=False)
    max_per_day: Mapped[int] = mapped_column(Integer, default=5)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NudgeClaim(Base):
    __tablename__ = "nudge_claims"
    __table_args__ = (Index("ix_nudge_claims_user_date", "user_id", "local_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("guided_actions.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The user's calendar day, for "at most N a day".
    local_date: Mapped[date] = mapped_column(Date)
    # Actions nudged together share one DM and count once against the day's budget.
    bundle: Mapped[str] = mapped_column(String(64))
    status: Mapped[NudgeStatus] = mapped_column(str_enum(NudgeStatus))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
