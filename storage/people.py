"""Finding CRM users by their Slack identity or email, and linking the two."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import User


def user_by_slack_id(session: Session, slack_user_id: str) -> User | None:
    """The user linked to ``slack_user_id``, if any."""
    return session.scalar(select(User).where(User.slack_user_id == slack_user_id))


def user_by_email(session: Session, email: str) -> User | None:
    """The user whose email matches ``email`` ignoring case, if any."""
    wanted = email.strip().lower()
    if not wanted:
        return None
    return session.scalar(select(User).where(func.lower(User.email) == wanted))


def link_slack_user(session: Session, user: User, slack_user_id: str) -> None:
    """Remember that ``slack_user_id`` is ``user``; unlink it from anyone else first.

    A Slack id belongs to one person: if an admin re-maps it, the old link goes.
    """
    previous = user_by_slack_id(session, slack_user_id)
    if previous is not None and previous.id != user.id:
        previous.slack_user_id = None
        session.flush()
    user.slack_user_id = slack_user_id
    session.flush()


def remember_slack_locale(session: Session, user: User, locale: str | None) -> None:
    """Keep Slack's locale for ``user`` ("" when Slack gave none: asked, nothing to ask again)."""
    user.slack_locale = (locale or "")[:16]
    session.flush()


def all_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.scalars(select(User).order_by(User.name, User.id)))
