"""The pieces of sentences every feature's messages share: who, when, which day.

A feature's own sentences sit in its own wording module (``rules.tasks.wording``...); this one
names people and moments the same way in all of them ("by Dana at 9:14", "due tomorrow at
10:00"). Times are shown on the reader's clock (``rules.clock``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from rules.clock import clock_time
from rules.translatable import N_, Day, Phrase, phrase
from storage.models import User

# A record named by its subject, mid-sentence ("Done: 'Call Acme' completed.").
QUOTED = N_("'{subject}'")

# "That … no longer exists", by the kind of record (``rules.op_result.not_found``): one
# whole sentence each, since other languages inflect the words around the noun.
NOT_FOUND: dict[str, str] = {
    "task": N_("That task no longer exists or never did. Refresh the view and try again."),
    "deal": N_("That deal no longer exists or never did. Refresh the view and try again."),
    "meeting": N_("That meeting no longer exists or never did. Refresh the view and try again."),
    "call": N_("That call no longer exists or never did. Refresh the view and try again."),
    "suggestion": N_(
        "That suggestion no longer exists or never did. Refresh the view and try again."
    ),
    "change": N_("That change no longer exists or never did. Refresh the view and try again."),
}
NOT_FOUND_RECORD = N_("That record no longer exists or never did. Refresh the view and try again.")

# Who did something, after "by" ("completed by you at 9:14").
BY_YOU = N_("by you")
BY_NAME = N_("by {name}")
BY_SOMEONE = N_("by someone")


@dataclass(frozen=True)
class CantChange:
    """A feature's refusals to change a record, by whose it is (``refused_change``)."""

    yours: str  # the actor's own record (an inactive actor may change nothing)
    theirs: str  # someone else's: "{name}"
    unassigned: str  # nobody's


def not_found_sentence(kind: str) -> str:
    """The NOT_FOUND sentence about a record of ``kind`` (a generic one for other kinds)."""
    return NOT_FOUND.get(kind, NOT_FOUND_RECORD)


def describe_moment(moment: datetime, zone: ZoneInfo, *, now: datetime) -> Phrase:
    """ "at 9:14", "yesterday at 9:14" or "on Tue 3 Mar at 9:14", in ``zone``, relative to
    ``now``."""
    local = moment.astimezone(zone)
    today = now.astimezone(zone).date()
    time = clock_time(local)
    if local.date() == today:
        return phrase(N_("at {time}"), time=time)
    if (today - local.date()).days == 1:
        return phrase(N_("yesterday at {time}"), time=time)
    return phrase(N_("on {day} at {time}"), day=_day(local.date(), today), time=time)


def describe_due(local: datetime, *, today: date) -> Phrase:
    """ "tomorrow at 10:00", "on Fri 20 Mar at 17:45": a due time on the reader's wall clock."""
    day, time = local.date(), clock_time(local)
    if day == today:
        return phrase(N_("today at {time}"), time=time)
    if (day - today).days == 1:
        return phrase(N_("tomorrow at {time}"), time=time)
    return phrase(N_("on {day} at {time}"), day=_day(day, today), time=time)


def _day(day: date, today: date) -> Day:
    return Day(day, with_year=day.year != today.year)


def person(session: Session, user_id: int | None, *, actor: User) -> str:
    """How to name a user in data: "you", their name, or "someone" when unknown (English:
    ``OpResult.by_name``; sentences use :func:`done_by`)."""
    if user_id is None:
        return "someone"
    if user_id == actor.id:
        return "you"
    user = session.get(User, user_id)
    return user.name if user is not None else "someone"


def done_by(session: Session, user_id: int | None, *, actor: User) -> Phrase:
    """ "by you", "by Dana", or "by someone" when unknown."""
    if user_id is not None and user_id == actor.id:
        return phrase(BY_YOU)
    user = session.get(User, user_id) if user_id is not None else None
    if user is None:
        return phrase(BY_SOMEONE)
    return phrase(BY_NAME, name=user.name)
