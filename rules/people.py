"""Finding the CRM user behind a Slack user."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import User


def user_by_slack_id(session: Session, slack_user_id: object) -> User | None:
    """The active CRM user linked to ``slack_user_id``, or None."""
    if not isinstance(slack_user_id, str) or not slack_user_id:
        return None
    return session.scalar(
        select(User).where(User.slack_user_id == slack_user_id, User.is_active.is_(True))
    )
