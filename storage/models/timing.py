"""Time-driven evaluation of guided actions: how far it has run, and the indexes it reads.

The tick evaluates the window between ``evaluated_through`` and now; the compare-and-set of
that one row is what lets every replica run the tick while each window is evaluated once.
The indexes serve the boundary look-ups (``rules.guided_actions.timing``): each is a range scan
over one timestamp.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.actions import GuidedActionItem
from storage.models.activities import Activity
from storage.models.base import Base
from storage.models.crm import Contact, Deal, Lead
from storage.types import UTCDateTime


class ActionClock(Base):
    """One row (id = 1): guided actions are up to date for every boundary up to this time."""

    __tablename__ = "guided_action_clock"

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    evaluated_through: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the last full pass (first start or repair) ran.
    full_pass_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


BOUNDARY_INDEXES = (
    Index("ix_activities_kind_starts", Activity.kind, Activity.starts_at),
    Index("ix_activities_kind_ends", Activity.kind, Activity.ends_at),
    Index("ix_activities_replied", Activity.replied_at),
    Index("ix_activities_opened", Activity.opened_at),
    Index("ix_activities_clicked", Activity.clicked_at),
    Index("ix_activities_completed", Activity.completed_at),
    Index("ix_contacts_owner_assigned", Contact.owner_assigned_at),
    Index("ix_leads_owner_assigned", Lead.owner_assigned_at),
    Index("ix_deals_created", Deal.created_at),
    Index(
        "ix_guided_action_items_age",
        GuidedActionItem.action_type,
        GuidedActionItem.state,
        GuidedActionItem.created_at,
    ),
)
