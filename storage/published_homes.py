"""Which Home tabs are (probably) open, and where each user was on theirs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import PublishedHome
from storage.types import utc


def remember_home(
    session: Session, *, user_id: int, slack_user_id: str, state: str, now: datetime
) -> None:
    """Note that ``user_id``'s Home tab now shows ``state`` (the caller commits)."""
    row = session.get(PublishedHome, user_id)
    if row is None:
        session.add(
            PublishedHome(
                user_id=user_id, slack_user_id=slack_user_id, state=state, published_at=utc(now)
            )
        )
    else:
        row.slack_user_id, row.state, row.published_at = slack_user_id, state, utc(now)
    session.flush()


def open_homes(
    session: Session, *, user_ids: Iterable[int], since: datetime
) -> list[PublishedHome]:
    """The Home tabs of ``user_ids`` published at or after ``since``."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return []
    return list(
        session.scalars(
            select(PublishedHome).where(
                PublishedHome.user_id.in_(wanted), PublishedHome.published_at >= utc(since)
            )
        )
    )
