"""The one clock: time zones, local days, weeks and months, and wall-clock times.

Every "today", "tomorrow" and "this week" in the workspace is the viewing user's, never the
server's. The stored times are UTC; here a local calendar period becomes a half-open UTC range
``[start, end)`` computed with ``zoneinfo``, so a day is 23 or 25 hours long across a
daylight-saving change, as it is on the user's wall clock. Every conversion of a local date
and time of day to an instant goes through :func:`local_to_utc`, and every time of day shown
to a user through :func:`clock_time` or :func:`padded_clock_time`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.translatable import TimeOfDay
from storage.models import User, UserPreferences

FALLBACK_ZONE = "UTC"


@dataclass(frozen=True)
class TimeRange:
    """A half-open UTC range ``[start, end)``."""

    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


def parse_zone(name: str | None) -> ZoneInfo | None:
    """Return the IANA zone ``name``, or None when it is empty or unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def first_known_zone(*names: str | None) -> ZoneInfo:
    """The first of ``names`` that is a known IANA zone, else UTC.

    A bad zone in the CRM or in a setting never breaks a view or stops a digest: the next
    candidate is used instead.
    """
    return next((z for z in map(parse_zone, names) if z is not None), ZoneInfo(FALLBACK_ZONE))


def zone_or_utc(name: str | None, fallback: str = FALLBACK_ZONE) -> ZoneInfo:
    """The IANA zone ``name``, else ``fallback``, else UTC (a team's zone, say)."""
    return first_known_zone(name, fallback)


def zone_name_for(session: Session, user: User) -> str:
    """The user's time zone name: their ``/sales settings`` override, else ``users.timezone``.

    An unknown name falls back to the next source, and finally to UTC, so a bad value in the
    CRM never breaks a view.
    """
    override = session.scalar(
        select(UserPreferences.timezone_override).where(UserPreferences.user_id == user.id)
    )
    return first_known_zone(override, user.timezone).key


def user_zone(session: Session, user: User) -> ZoneInfo:
    """The user's time zone as a ``ZoneInfo`` (see :func:`zone_name_for`)."""
    return ZoneInfo(zone_name_for(session, user))


def local_date(zone: ZoneInfo, moment: datetime) -> date:
    """The calendar date of the aware ``moment`` on a wall clock in ``zone``."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware value")
    return moment.astimezone(zone).date()


def local_to_utc(day: date, wall_time: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``wall_time`` on ``day`` in ``zone``.

    A wall time skipped by a daylight-saving jump (02:30 on the spring-forward night) moves
    forward by the gap, as clocks do; an ambiguous one (autumn) takes the first occurrence
    (``fold=0``). Any ``tzinfo`` on ``wall_time`` is ignored: the wall clock is ``zone``'s.
    """
    wall = datetime.combine(day, wall_time.replace(tzinfo=None), tzinfo=zone)
    # Round-trip through UTC to normalise a non-existent wall time.
    return wall.astimezone(UTC)


def local_midnight(zone: ZoneInfo, day: date) -> datetime:
    """The first instant of ``day`` in ``zone``, in UTC.

    Midnight itself may not exist (a few zones switch to summer time at 00:00): it is then
    resolved forward, which is the first instant of that day on the wall clock.
    """
    return local_to_utc(day, time(0, 0), zone)


def day_range(zone: ZoneInfo, day: date) -> TimeRange:
    """The local calendar ``day`` in ``zone`` as a UTC range."""
    return TimeRange(local_midnight(zone, day), local_midnight(zone, day + timedelta(days=1)))


def days_range(zone: ZoneInfo, first: date, last: date) -> TimeRange:
    """Local days ``first`` to ``last`` inclusive, as one UTC range."""
    if last < first:
        raise ValueError(f"empty range: {first} is after {last}")
    return TimeRange(local_midnight(zone, first), local_midnight(zone, last + timedelta(days=1)))


# Weeks start on a weekday counted as ``date.weekday()`` does: 0 = Monday ... 6 = Sunday.
# Which one is the reader's locale's choice (CLDR): handlers pass it in.
MONDAY = 0


def week_start(day: date, first_weekday: int = MONDAY) -> date:
    """The first day of the week containing ``day``, for weeks starting on ``first_weekday``."""
    return day - timedelta(days=(day.weekday() - first_weekday) % 7)


def week_range(zone: ZoneInfo, day: date, first_weekday: int = MONDAY) -> TimeRange:
    """The local week containing ``day`` (seven days from ``first_weekday``), as a UTC range."""
    first = week_start(day, first_weekday)
    return days_range(zone, first, first + timedelta(days=6))


def month_range(zone: ZoneInfo, day: date) -> TimeRange:
    """The local calendar month containing ``day``, as a UTC range."""
    first = day.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return days_range(zone, first, next_first - timedelta(days=1))


@dataclass(frozen=True)
class UserClock:
    """One user's calendar at one instant: what "today", "tomorrow" and "this week" mean.

    ``first_weekday`` is the day weeks start on for whoever reads (0 = Monday, 6 = Sunday).
    """

    zone: ZoneInfo
    now: datetime
    first_weekday: int = MONDAY

    @property
    def today(self) -> date:
        return local_date(self.zone, self.now)

    @property
    def tomorrow(self) -> date:
        return self.today + timedelta(days=1)

    def day(self, day: date) -> TimeRange:
        return day_range(self.zone, day)

    @property
    def today_range(self) -> TimeRange:
        return day_range(self.zone, self.today)

    @property
    def tomorrow_range(self) -> TimeRange:
        return day_range(self.zone, self.tomorrow)

    @property
    def this_week(self) -> TimeRange:
        return week_range(self.zone, self.today, self.first_weekday)

    def local(self, moment: datetime) -> datetime:
        """``moment`` on this user's wall clock."""
        return moment.astimezone(self.zone)


def clock_for(
    session: Session, user: User, *, now: datetime, first_weekday: int = MONDAY
) -> UserClock:
    """The clock of ``user`` at ``now`` (aware), weeks starting on ``first_weekday``."""
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: pass a timezone-aware value")
    if first_weekday not in range(7):
        raise ValueError(f"first_weekday {first_weekday!r} is not 0 (Monday) to 6 (Sunday)")
    return UserClock(zone=user_zone(session, user), now=now, first_weekday=first_weekday)


def clock_time(moment: datetime) -> TimeOfDay:
    """A time of day inside a sentence ("completed by Dana at 9:14"), for a ``Phrase``:
    written where it is shown as the reader's locale writes it ("9:14 AM", "09:14").

    ``moment`` is already on the reader's wall clock (see :meth:`UserClock.local`).
    """
    return TimeOfDay(moment)


def padded_clock_time(moment: datetime) -> str:
    """``09:14``, ``17:05``: a time of day in a list or a span, where times line up."""
    return f"{moment:%H:%M}"
