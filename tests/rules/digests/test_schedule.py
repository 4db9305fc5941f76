"""When digests are due: local 08:00 across zones and daylight-saving days, weekends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session

from rules.digests.schedule import due_digests, missed_digests
from storage.models import DigestKind, Role, TeamDigestSettings, UserPreferences
from tests.builders import CRM

EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]


def _at(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


# (zone, local date, the UTC instant of 08:00 there): both DST switch days and their eves.
EIGHT_AM = [
    ("America/Los_Angeles", date(2026, 3, 7), _at(2026, 3, 7, 16)),  # PST
    ("America/Los_Angeles", date(2026, 3, 8), _at(2026, 3, 8, 15)),  # PDT from 02:00
    ("America/Los_Angeles", date(2026, 10, 31), _at(2026, 10, 31, 15)),  # PDT
    ("America/Los_Angeles", date(2026, 11, 1), _at(2026, 11, 1, 16)),  # PST from 02:00
    ("Europe/Berlin", date(2026, 3, 28), _at(2026, 3, 28, 7)),  # CET
    ("Europe/Berlin", date(2026, 3, 29), _at(2026, 3, 29, 6)),  # CEST from 02:00
    ("Europe/Berlin", date(2026, 10, 24), _at(2026, 10, 24, 6)),  # CEST
    ("Europe/Berlin", date(2026, 10, 25), _at(2026, 10, 25, 7)),  # CET from 03:00
    ("Asia/Tokyo", date(2026, 3, 9), _at(2026, 3, 8, 23)),  # no DST; the UTC day before
]


@pytest.mark.parametrize(("zone", "local_date", "eight_am"), EIGHT_AM)
def test_digest_is_due_at_local_eight(
    session: Session, crm: CRM, zone: str, local_date: date, eight_am: datetime
) -> None:
    rep = crm.user(timezone=zone, slack_user_id="U1")
    session.add(UserPreferences(user_id=rep.id, digest_time=time(8, 0), digest_weekdays=EVERY_DAY))
    session.flush()

    assert due_digests(session, now=eight_am - timedelta(minutes=1)) == []
    (due,) = due_digests(session, now=eight_am)
    assert (due.kind, due.recipient_id, due.local_date, due.due_at) == (
        DigestKind.REP,
        rep.id,
        local_date,
        eight_am,
    )
    # Still due a little later (a missed tick is caught up), not the next afternoon.
    assert due_digests(session, now=eight_am + timedelta(hours=3, minutes=59))
    assert due_digests(session, now=eight_am + timedelta(hours=4)) == []


def test_weekend_is_skipped_by_default(session: Session, crm: CRM) -> None:
    crm.user(timezone="Europe/Berlin", slack_user_id="U1")
    saturday, sunday, monday = (_at(2026, 3, d, 7) for d in (14, 15, 16))  # 08:00 CET
    assert due_digests(session, now=saturday) == []
    assert due_digests(session, now=sunday) == []
    assert [d.local_date for d in due_digests(session, now=monday)] == [date(2026, 3, 16)]


def test_a_late_digest_time_in_a_gap_is_sent_just_after_it(session: Session, crm: CRM) -> None:
    """02:30 does not exist in Los Angeles on 2026-03-08: it goes out at 03:30 PDT."""
    rep = crm.user(timezone="America/Los_Angeles", slack_user_id="U1")
    session.add(UserPreferences(user_id=rep.id, digest_time=time(2, 30), digest_weekdays=EVERY_DAY))
    session.flush()
    (due,) = due_digests(session, now=_at(2026, 3, 8, 10, 30))
    assert due.local_date == date(2026, 3, 8)
    assert due.due_at == _at(2026, 3, 8, 10, 30)  # 03:30 PDT


def test_preferences_beat_the_team_default_and_override_the_zone(
    session: Session, crm: CRM
) -> None:
    team = crm.team(timezone="Europe/Berlin")
    session.add(TeamDigestSettings(team_id=team.id, digest_time=time(9, 0)))
    team_default = crm.user(team_id=team.id, timezone="Europe/Berlin", slack_user_id="U1")
    own = crm.user(team_id=team.id, timezone="Europe/Berlin", slack_user_id="U2")
    session.add(
        UserPreferences(user_id=own.id, digest_time=time(7, 0), timezone_override="Asia/Tokyo")
    )
    session.flush()
    # Wednesday 2026-03-11: 07:00 Tokyo = 22:00 UTC the day before; 09:00 Berlin = 08:00 UTC.
    assert [d.recipient_id for d in due_digests(session, now=_at(2026, 3, 10, 22))] == [own.id]
    assert [d.recipient_id for d in due_digests(session, now=_at(2026, 3, 11, 8))] == [
        team_default.id
    ]


def test_no_digest_without_slack_id_or_when_inactive(session: Session, crm: CRM) -> None:
    crm.user(timezone="UTC")
    crm.user(timezone="UTC", slack_user_id="U9", is_active=False)
    assert due_digests(session, now=_at(2026, 3, 11, 8)) == []


def test_manager_digest_in_the_team_zone_when_there_is_a_channel_and_a_manager(
    session: Session, crm: CRM
) -> None:
    team = crm.team(timezone="America/Los_Angeles", digest_channel_id="CTEAM")
    crm.team(timezone="America/Los_Angeles")  # no channel: no digest
    crm.user(team_id=team.id, role=Role.MANAGER, timezone="UTC")
    # 08:30 PDT on Monday 2026-03-09 is 15:30 UTC.
    due = due_digests(session, now=_at(2026, 3, 9, 15, 30))
    assert [(d.kind, d.recipient_id) for d in due] == [(DigestKind.MANAGER, team.id)]


def test_a_digest_not_sent_in_its_window_is_reported_missed(session: Session, crm: CRM) -> None:
    rep = crm.user(timezone="UTC", slack_user_id="U1")
    closes = _at(2026, 3, 11, 12)  # 08:00 + 4 h
    minute = timedelta(minutes=1)
    assert missed_digests(session, since=closes - 2 * minute, until=closes - minute) == []
    (missed,) = missed_digests(session, since=closes - minute, until=closes)
    assert (missed.recipient_id, missed.local_date) == (rep.id, date(2026, 3, 11))


def test_an_unknown_zone_override_falls_back_to_the_users_zone(session: Session, crm: CRM) -> None:
    rep = crm.user(timezone="Asia/Tokyo", slack_user_id="U1")
    session.add(UserPreferences(user_id=rep.id, timezone_override="Mars/Olympus_Mons"))
    session.flush()
    # 08:00 on Wednesday in Tokyo is 23:00 UTC on Tuesday.
    (due,) = due_digests(session, now=_at(2026, 3, 10, 23))
    assert (due.zone, due.local_date) == ("Asia/Tokyo", date(2026, 3, 11))
