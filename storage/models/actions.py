"""Guided actions as stored: instances with their lifecycle, items, and users' feedback.

An action is for one user. It has one item (its primary object) or, when bundled, several
items of one kind. Each item remembers the *episode* that created it (e.g. the reply it is
about): an item never comes back for the same user, object and episode, which is what keeps a
dismissed or expired action from reappearing on the next run.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, str_enum
from storage.types import UTCDateTime


class ActionState(StrEnum):
    OPEN = "open"
    DONE = "done"
    DISMISSED = "dismissed"
    EXPIRED = "expired"


class ActionObject(StrEnum):
    """The kind of record an action item points at."""

    CONTACT = "contact"
    LEAD = "lead"
    DEAL = "deal"
    MEETING = "meeting"
    CALL = "call"
    TASK = "task"


class GuidedAction(Base):
    __tablename__ = "guided_actions"
    __table_args__ = (
        Index("ix_guided_actions_user_state", "user_id", "state"),
        Index("ix_guided_actions_type_state", "action_type", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_type: Mapped[str] = mapped_column(String(48))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # closing / prospecting / all, fixed at creation.
    category: Mapped[str] = mapped_column(String(16))
    bundled: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[ActionState] = mapped_column(str_enum(ActionState), default=ActionState.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which expiry condition ended it (state expired), e.g. "age_30_days".
    expired_condition: Mapped[str | None] = mapped_column(String(64))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Primary object; None for a bundle (its items carry the objects).
    object_type: Mapped[ActionObject] = mapped_column(str_enum(ActionObject))
    object_id: Mapped[int | None] = mapped_column(Integer)
    # Snapshot at creation: later association changes are not reflected.
    contact_id: Mapped[int | None] = mapped_column(Integer)
    company_id: Mapped[int | None] = mapped_column(Integer)

    items: Mapped[list[GuidedActionItem]] = relationship(
        back_populates="action", order_by="GuidedActionItem.id", cascade="all, delete-orphan"
    )


class GuidedActionItem(Base):
    __tablename__ = "guided_action_items"
    __table_args__ = (
        # The come-back guard: one item per user, object and episode, ever.
        UniqueConstraint("action_type", "user_id", "object_id", "episode"),
        Index("ix_guided_action_items_open", "action_type", "state", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("guided_actions.id", ondelete="CASCADE"), index=True
    )
    # Copied from the action so the guard above is one index.
    action_type: Mapped[str] = mapped_column(String(48))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    object_type: Mapped[ActionObject] = mapped_column(str_enum(ActionObject))
    object_id: Mapped[int] = mapped_column(Integer)
    episode: Mapped[str] = mapped_column(String(64))
    state: Mapped[ActionState] = mapped_column(str_enum(ActionState), default=ActionState.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_reason: Mapped[str | None] = mapped_column(String(64))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact_id: Mapped[int | None] = mapped_column(Integer)
    company_id: Mapped[int | None] = mapped_column(Integer)

    action: Mapped[GuidedAction] = relationship(back_populates="items")


class ActionFeedback(Base):
    """ "Yes, keep it up!" (helpful) or "Not really", one answer per user and action/item."""

    __tablename__ = "guided_action_feedback"
    __table_args__ = (
        Index("ix_guided_action_feedback_user_type", "user_id", "action_type"),
        # One answer per user and action or item, even for concurrent clicks. NULLs are
        # distinct in a unique index, so a whole-action answer (no item) is keyed as item 0.
        Index(
            "uq_guided_action_feedback_answer",
            "user_id",
            "action_id",
            func.coalesce(text("item_id"), 0),
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    action_id: Mapped[int] = mapped_column(
        ForeignKey("guided_actions.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("guided_action_items.id", ondelete="CASCADE")
    )
    action_type: Mapped[str] = mapped_column(String(48))
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
