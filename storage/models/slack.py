"""What the Slack app itself must remember: requests it has already applied."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class SlackReceipt(Base):
    """One Slack delivery that was applied (an ``event_id``, or a click's own key).

    Slack retries an event it thinks was not acknowledged; the primary key makes "apply
    once" hold across threads and replicas: the second insert of a key is ignored.
    """

    __tablename__ = "slack_receipts"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PublishedHome(Base):
    """The last Home tab published to a user: where they were, and when.

    Slack says when a Home tab opens, never when it closes; a tab published recently is
    treated as open, and re-published in place when the user's guided actions change.
    """

    __tablename__ = "published_homes"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    slack_user_id: Mapped[str] = mapped_column(String(32))
    # The encoded ViewState the tab shows.
    state: Mapped[str] = mapped_column(String(2000))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
