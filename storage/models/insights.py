"""Deal Insights: cached answers, the audit of who asked what, and feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class CachedInsight(Base):
    """A checked AI answer, keyed by the fingerprint of the evidence its viewer could see.

    The fingerprint covers the deal, every visible activity, the model and the prompt
    version, so viewers with different views never share a row; viewers who see exactly
    the same evidence get exactly the same prompt, and may.
    """

    __tablename__ = "insight_cache"
    __table_args__ = (UniqueConstraint("deal_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    prompt_version: Mapped[str] = mapped_column(String(32))
    # AiSections.to_json(): {"recent_activity": [{"text", "activity_ids"}], ...}
    sections: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InsightRequest(Base):
    """Audit: who asked about which deal, when, from where, with which evidence."""

    __tablename__ = "insight_requests"
    __table_args__ = (
        Index("ix_insight_requests_deal_time", "deal_id", "asked_at"),
        Index("ix_insight_requests_slack_message", "slack_channel_id", "slack_ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # "cli", "slash_command", "dm", "thread", ...
    source: Mapped[str] = mapped_column(String(32))
    # Ids of every activity in the viewer's evidence (what the answer could rest on).
    evidence_ids: Mapped[list[int]] = mapped_column(JSON)
    # Ids the shown AI statements cite.
    cited_ids: Mapped[list[int]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # AiStatus value: used, cached, hipaa, analysis_off, no_model, failed.
    ai_status: Mapped[str] = mapped_column(String(16))
    ai_used: Mapped[bool] = mapped_column(Boolean)
    model: Mapped[str | None] = mapped_column(String(200))
    dropped_statements: Mapped[int] = mapped_column(Integer, default=0)
    # A follow-up question asked in a thread (None for the insight itself).
    question: Mapped[str | None] = mapped_column(String(500))
    # The Slack message that showed the answer: follow-ups in its thread use the same deal.
    slack_channel_id: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))


class InsightFeedback(Base):
    """Helpful / Not helpful, with a short text, on one answer."""

    __tablename__ = "insight_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("insight_requests.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
