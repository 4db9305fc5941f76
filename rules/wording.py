"""The pieces of sentences every feature's messages share: who, when, which day.

A feature's own sentences sit in its own wording module (``rules.tasks.wording``...); this one
names people and moments the same way in all of them ("by Dana at 9:14", "due tomorrow at
10:00"). Times are shown on the reader's clock (``rules.clock``).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from rules.clock import clock_time
from storage.models import User

NOT_FOUND = "That {what} no longer exists or never did. Refresh the view and try again."
YOU = "you"
YOUR = "your"
SOMEONE = "someone"
UNASSIGNED = "this"


def describe_moment(moment: datetime, zone: ZoneInfo, *, now: datetime) -> str:
    """ "at 9:14", "yesterday at 9:14" or "on Mar 3 at 9:14", in ``zone``, relative to ``now``."""
    local = moment.astimezone(zone)
    today = now.astimezone(zone).date()
    if local.date() == today:
        return f"at {clock_time(local)}"
    if (today - local.date()).days == 1:
        return f"yesterday at {clock_time(local)}"
    return f"on {describe_day(local.date(), today=today)} at {clock_time(local)}"


def describe_day(day: date, *, today: date) -> str:
    """ "today", "tomorrow", "Thu Mar 12" (with the year when it is not this year)."""
    if day == today:
        return "today"
    if (day - today).days == 1:
        return "tomorrow"
    text = f"{day:%a} {day:%b} {day.day}"
    return text if day.year == today.year else f"{text}, {day.year}"


def describe_due(local: datetime, *, today: date) -> str:
    """ "tomorrow at 10:00", "Fri Mar 20 at 17:45": a due time on the reader's wall clock."""
    return f"{describe_day(local.date(), today=today)} at {clock_time(local)}"


def person(session: Session, user_id: int | None, *, actor: User) -> str:
    """How to name a user to ``actor``: "you", their name, or "someone" when unknown."""
    if user_id is None:
        return SOMEONE
    if user_id == actor.id:
        return YOU
    user = session.get(User, user_id)
    return user.name if user is not None else SOMEONE


def possessive(session: Session, user_id: int | None, *, actor: User) -> str:
    """ "your", "Ben's", or "this" (unassigned records)."""
    if user_id is None:
        return UNASSIGNED
    if user_id == actor.id:
        return YOUR
    return f"{person(session, user_id, actor=actor)}'s"
