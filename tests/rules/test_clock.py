"""A user's local days are UTC ranges that follow their wall clock, DST included."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from rules.clock import (
    clock_for,
    clock_time,
    day_range,
    local_to_utc,
    month_range,
    padded_clock_time,
    week_range,
    week_start,
    zone_name_for,
)
from rules.translatable import phrase
from storage.models import UserPreferences
from tests.builders import CRM


def test_a_dst_start_day_is_23_hours_and_an_end_day_25() -> None:
    la = day_range(ZoneInfo("America/Los_Angeles"), date(2026, 3, 8))
    assert la.start == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)  # PST, -8
    assert la.end == datetime(2026, 3, 9, 7, 0, tzinfo=UTC)  # PDT, -7
    assert la.duration == timedelta(hours=23)

    berlin = day_range(ZoneInfo("Europe/Berlin"), date(2026, 10, 25))
    assert berlin.start == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # CEST, +2
    assert berlin.end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # CET, +1
    assert berlin.duration == timedelta(hours=25)


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    week = week_range(tokyo, date(2026, 3, 11))  # a Wednesday
    assert week.start == datetime(2026, 3, 8, 15, 0, tzinfo=UTC)  # Mon 9 Mar 00:00 JST
    assert week.duration == timedelta(days=7)
    month = month_range(tokyo, date(2026, 2, 14))
    assert month.start == datetime(2026, 1, 31, 15, 0, tzinfo=UTC)
    assert month.end == datetime(2026, 2, 28, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("first_weekday", "first_day"),
    [(0, date(2026, 3, 2)), (6, date(2026, 3, 8)), (5, date(2026, 3, 7))],
)
def test_a_week_starts_on_the_weekday_it_is_given(first_weekday: int, first_day: date) -> None:
    # Sunday 8 March: the last day of a Monday week, the first of a Sunday one.
    assert week_start(date(2026, 3, 8), first_weekday) == first_day
    week = week_range(ZoneInfo("UTC"), date(2026, 3, 8), first_weekday)
    assert week.start.date() == first_day
    assert week.duration == timedelta(days=7)


def test_a_users_clock_refuses_a_weekday_that_is_not_one(session: Session, crm: CRM) -> None:
    with pytest.raises(ValueError, match="first_weekday"):
        clock_for(session, crm.user(), now=datetime(2026, 3, 8, tzinfo=UTC), first_weekday=7)


def test_today_is_the_users_not_the_servers(session: Session, crm: CRM) -> None:
    tokyo = crm.user(timezone="Asia/Tokyo")
    late_evening_utc = datetime(2026, 3, 11, 16, 0, tzinfo=UTC)  # already 12 March in Tokyo
    assert clock_for(session, tokyo, now=late_evening_utc).today == date(2026, 3, 12)


def test_the_settings_override_wins_and_bad_zones_fall_back(session: Session, crm: CRM) -> None:
    user = crm.user(timezone="America/New_York")
    assert zone_name_for(session, user) == "America/New_York"
    session.add(UserPreferences(user_id=user.id, timezone_override="Europe/Berlin"))
    session.flush()
    assert zone_name_for(session, user) == "Europe/Berlin"

    broken = crm.user(timezone="Mars/Olympus_Mons")
    assert zone_name_for(session, broken) == "UTC"


def test_a_wall_time_in_the_spring_gap_moves_forward_and_an_autumn_one_is_the_first() -> None:
    la = ZoneInfo("America/Los_Angeles")
    # 02:30 does not exist on 8 March 2026 in Los Angeles: it is 03:30 PDT.
    assert local_to_utc(date(2026, 3, 8), time(2, 30), la) == datetime(
        2026, 3, 8, 10, 30, tzinfo=UTC
    )
    # 01:30 happens twice on 1 November 2026: the first one, still PDT.
    assert local_to_utc(date(2026, 11, 1), time(1, 30), la) == datetime(
        2026, 11, 1, 8, 30, tzinfo=UTC
    )


def test_times_of_day_read_short_in_sentences_and_padded_in_lists() -> None:
    morning = datetime(2026, 3, 11, 9, 5, tzinfo=UTC)
    assert (str(phrase("at {time}", time=clock_time(morning))), padded_clock_time(morning)) == (
        "at 9:05",
        "09:05",
    )
