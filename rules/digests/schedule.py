"""When each digest is due: local times, weekdays, time zones and the catch-up window.

The scheduler ticks every minute and asks ``due_digests(session, now=...)`` which digests
are due. A digest is due from its local time (e.g. 08:00 in the recipient's zone) until
``CATCH_UP`` later on the same local day: a tick that was missed (restart, deploy, a
replica down) is made up by the next one, so no day is skipped; past the window the
digest is reported as missed instead of arriving in the afternoon.

Daylight-saving changes are handled by computing each local time in its zone
(``zoneinfo``): 08:00 is 08:00 on both switch days. A local time that does not exist
(inside a spring-forward gap) is sent at the same wall-clock offset after the gap; a local
time that happens twice (fall-back) is sent at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.clock import first_known_zone, local_midnight, local_to_utc, zone_or_utc
from storage.deliveries import settled_recipients
from storage.models import DigestKind, Role, Team, TeamDigestSettings, User, UserPreferences
from storage.types import utc

DEFAULT_DIGEST_TIME = time(8, 0)
DEFAULT_MANAGER_DIGEST_TIME = time(8, 30)
DEFAULT_WEEKDAYS = (1, 2, 3, 4, 5)
# How long after its time a missed digest is still sent (late, but the same morning).
CATCH_UP = timedelta(hours=4)


@dataclass(frozen=True)
class DueDigest:
    """One digest to send now: who, which kind, which local day, and when it was due."""

    kind: DigestKind
    recipient_id: int
    local_date: date
    due_at: datetime  # UTC
    zone: str


@dataclass(frozen=True)
class MissedDigest:
    """A digest whose catch-up window closed without it being sent (to be logged)."""

    kind: DigestKind
    recipient_id: int
    local_date: date
    due_at: datetime


def due_window(
    *,
    now: datetime,
    zone: ZoneInfo,
    at: time,
    weekdays: Iterable[int],
    catch_up: timedelta = CATCH_UP,
) -> tuple[date, datetime] | None:
    """The (local date, due instant) whose window contains ``now``, if any.

    The window is [due, due + catch_up), clipped to the local day. Yesterday is checked
    too, for windows that would cross midnight (a late digest time); they are clipped, so
    this only matters for zones whose day boundary falls inside the window.
    """
    now = utc(now)
    allowed = set(weekdays)
    today = now.astimezone(zone).date()
    for local_date in (today, today - timedelta(days=1)):
        if local_date.isoweekday() not in allowed:
            continue
        due = local_to_utc(local_date, at, zone)
        next_midnight = local_midnight(zone, local_date + timedelta(days=1))
        end = min(due + catch_up, next_midnight)
        if due <= now < end:
            return local_date, due
    return None


@dataclass(frozen=True)
class _Plan:
    recipient_id: int
    zone: ZoneInfo
    at: time
    weekdays: tuple[int, ...]


def _rep_plans(session: Session) -> list[_Plan]:
    rows = session.execute(
        select(User, UserPreferences, TeamDigestSettings)
        .outerjoin(UserPreferences, UserPreferences.user_id == User.id)
        .outerjoin(TeamDigestSettings, TeamDigestSettings.team_id == User.team_id)
        .where(User.is_active.is_(True), User.slack_user_id.is_not(None))
        .order_by(User.id)
    ).all()
    plans = []
    for user, prefs, team_settings in rows:
        # As rules.clock.zone_name_for (the Home tab's "today"), from the rows loaded here.
        zone = first_known_zone(prefs.timezone_override if prefs else None, user.timezone)
        if prefs is not None:
            at, weekdays = prefs.digest_time, prefs.digest_weekdays
        elif team_settings is not None:
            at, weekdays = team_settings.digest_time, team_settings.digest_weekdays
        else:
            at, weekdays = DEFAULT_DIGEST_TIME, list(DEFAULT_WEEKDAYS)
        plans.append(
            _Plan(
                user.id,
                zone,
                at or DEFAULT_DIGEST_TIME,
                tuple(_valid_weekdays(weekdays)),
            )
        )
    return plans


def _valid_weekdays(values: object) -> list[int]:
    if not isinstance(values, list):
        return list(DEFAULT_WEEKDAYS)
    return [v for v in values if isinstance(v, int) and 1 <= v <= 7]


def _manager_plans(session: Session, default_zone: str) -> list[_Plan]:
    rows = session.execute(
        select(Team, TeamDigestSettings)
        .outerjoin(TeamDigestSettings, TeamDigestSettings.team_id == Team.id)
        .where(Team.digest_channel_id.is_not(None))
        .order_by(Team.id)
    ).all()
    plans = []
    for team, team_settings in rows:
        has_manager = session.scalar(
            select(User.id)
            .where(User.team_id == team.id, User.role == Role.MANAGER, User.is_active.is_(True))
            .limit(1)
        )
        if has_manager is None:
            continue
        at = team_settings.manager_digest_time if team_settings else DEFAULT_MANAGER_DIGEST_TIME
        weekdays = team_settings.digest_weekdays if team_settings else list(DEFAULT_WEEKDAYS)
        plans.append(
            _Plan(
                team.id,
                zone_or_utc(team.timezone, default_zone),
                at,
                tuple(_valid_weekdays(weekdays)),
            )
        )
    return plans


def due_digests(
    session: Session,
    *,
    now: datetime,
    default_zone: str = "UTC",
    catch_up: timedelta = CATCH_UP,
) -> list[DueDigest]:
    """Every digest due at ``now`` that is not settled yet (sent, skipped, failed for good).

    Rep digests go to active users with a Slack id; manager digests to teams with a digest
    channel and an active manager. The result is ordered by due time, oldest first, so a
    catch-up after an outage serves the longest-waiting first.
    """
    found: list[DueDigest] = []
    for kind, plans in (
        (DigestKind.REP, _rep_plans(session)),
        (DigestKind.MANAGER, _manager_plans(session, default_zone)),
    ):
        candidates = []
        for plan in plans:
            window = due_window(
                now=now, zone=plan.zone, at=plan.at, weekdays=plan.weekdays, catch_up=catch_up
            )
            if window is not None:
                local_date, due = window
                candidates.append(
                    DueDigest(kind, plan.recipient_id, local_date, due, plan.zone.key)
                )
        settled = settled_recipients(
            session, kind=kind, local_dates={c.local_date for c in candidates}
        )
        found.extend(c for c in candidates if (c.recipient_id, c.local_date) not in settled)
    found.sort(key=lambda d: (d.due_at, d.kind, d.recipient_id))
    return found


def missed_digests(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    default_zone: str = "UTC",
    catch_up: timedelta = CATCH_UP,
) -> list[MissedDigest]:
    """Digests whose catch-up window closed in (since, until] without being settled.

    The scheduler calls this each tick for the minute that just passed, so a digest that
    could not be sent in time is logged once, loudly, instead of silently dropped.
    """
    since, until = utc(since), utc(until)
    candidates: list[MissedDigest] = []
    for kind, plans in (
        (DigestKind.REP, _rep_plans(session)),
        (DigestKind.MANAGER, _manager_plans(session, default_zone)),
    ):
        kind_candidates = []
        for plan in plans:
            for local_date, due in _closed_windows(plan, since, until, catch_up):
                kind_candidates.append(MissedDigest(kind, plan.recipient_id, local_date, due))
        settled = settled_recipients(
            session, kind=kind, local_dates={c.local_date for c in kind_candidates}
        )
        candidates.extend(
            c for c in kind_candidates if (c.recipient_id, c.local_date) not in settled
        )
    return candidates


def _closed_windows(
    plan: _Plan, since: datetime, until: datetime, catch_up: timedelta
) -> list[tuple[date, datetime]]:
    closed = []
    start_day = since.astimezone(plan.zone).date() - timedelta(days=1)
    end_day = until.astimezone(plan.zone).date()
    day = start_day
    while day <= end_day:
        if day.isoweekday() in plan.weekdays:
            due = local_to_utc(day, plan.at, plan.zone)
            next_midnight = local_midnight(plan.zone, day + timedelta(days=1))
            end = min(due + catch_up, next_midnight)
            if since < end <= until:
                closed.append((day, due))
        day += timedelta(days=1)
    return closed
