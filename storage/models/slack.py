"""What the Slack app itself must remember: requests it has already applied."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
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
