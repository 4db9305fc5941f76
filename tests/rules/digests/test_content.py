"""Digest content: the right tasks in the right bucket, today's meetings, team digests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from rules.digests.content import ActionLine, DigestSources, manager_digest, rep_digest
from rules.tasks.queries import TaskBucket
from storage.models import (
    DealVisibility,
    Goal,
    GoalMetric,
    MeetingOutcome,
    Role,
    TaskPriority,
    TaskStatus,
    Team,
    User,
    UserPreferences,
)
from tests.builders import CRM

LA = ZoneInfo("America/Los_Angeles")
# 08:30 in Los Angeles (PDT) on Wednesday 2026-03-11.
NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)


def _la(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=LA)


def test_tasks_land_in_the_buckets_of_the_reps_own_day(session: Session, crm: CRM) -> None:
    rep = crm.user(timezone="America/Los_Angeles", slack_user_id="U1")
    other = crm.user(timezone="America/Los_Angeles")
    overdue = crm.task(rep, due_at=_la(10, 17), subject="Send proposal")
    today_late = crm.task(rep, due_at=_la(11, 23, 30), subject="Late call")  # tomorrow in UTC
    today_high = crm.task(rep, due_at=_la(11, 16), subject="Urgent", priority=TaskPriority.HIGH)
    tomorrow = crm.task(rep, due_at=_la(12, 9), subject="Prep demo")
    crm.task(rep, due_at=_la(11, 10), status=TaskStatus.COMPLETED)  # done: nowhere
    crm.task(other, due_at=_la(11, 10))  # someone else's

    digest = rep_digest(session, user_id=rep.id, now=NOW)

    by_name = {b.bucket: b for b in digest.tasks}
    assert [t.id for t in by_name[TaskBucket.OVERDUE].top] == [overdue.id]
    assert [t.id for t in by_name[TaskBucket.TODAY].top] == [today_high.id, today_late.id]
    assert [t.id for t in by_name[TaskBucket.TOMORROW].top] == [tomorrow.id]
    assert (by_name[TaskBucket.OVERDUE].count, by_name[TaskBucket.TODAY].count) == (1, 2)
    assert digest.local_date.isoformat() == "2026-03-11"


def test_buckets_count_everything_but_list_the_top_three(session: Session, crm: CRM) -> None:
    rep = crm.user(timezone="UTC", slack_user_id="U1")
    for hour in range(17, 23):
        crm.task(rep, due_at=datetime(2026, 3, 11, hour, tzinfo=UTC))
    (_, today, _) = rep_digest(session, user_id=rep.id, now=NOW).tasks
    assert today.count == 6 and len(today.top) == 3


def test_todays_meetings_in_the_reps_zone_with_missing_outcomes(session: Session, crm: CRM) -> None:
    rep = crm.user(timezone="America/Los_Angeles", slack_user_id="U1")
    early = crm.meeting(rep, starts_at=_la(11, 7), subject="Standup")  # ended, still scheduled
    later = crm.meeting(rep, starts_at=_la(11, 14), subject="Demo with Acme")
    logged = crm.meeting(
        rep, starts_at=_la(11, 6), subject="Breakfast", outcome=MeetingOutcome.COMPLETED
    )
    crm.meeting(rep, starts_at=_la(11, 12), outcome=MeetingOutcome.CANCELED)
    crm.meeting(rep, starts_at=_la(12, 0, 30))  # tomorrow local, though still the 12th UTC
    crm.meeting(rep, starts_at=_la(10, 23))  # yesterday

    digest = rep_digest(session, user_id=rep.id, now=NOW)

    assert [m.id for m in digest.meetings] == [logged.id, early.id, later.id]
    assert {m.id: m.needs_outcome for m in digest.meetings} == {
        logged.id: False,
        early.id: True,
        later.id: False,
    }
    assert digest.meetings[2].link == "https://meet.example/abc"


def test_goals_count_this_week_in_the_reps_zone(session: Session, crm: CRM) -> None:
    rep = crm.user(timezone="America/Los_Angeles", slack_user_id="U1")
    session.add(Goal(user_id=rep.id, metric=GoalMetric.CALLS_LOGGED, weekly_target=10))
    crm.call(rep, starts_at=_la(9, 10))  # Monday
    crm.call(rep, starts_at=_la(10, 10))
    crm.call(rep, starts_at=_la(8, 23))  # Sunday: last week
    (goal,) = rep_digest(session, user_id=rep.id, now=NOW).goals
    assert (goal.metric, goal.done, goal.target) == (GoalMetric.CALLS_LOGGED, 2, 10)


def test_an_empty_day_is_empty_and_the_reps_choice_is_kept(session: Session, crm: CRM) -> None:
    rep = crm.user(timezone="UTC", slack_user_id="U1")
    assert rep_digest(session, user_id=rep.id, now=NOW).is_empty
    session.add(UserPreferences(user_id=rep.id, empty_digest="skip"))
    session.flush()
    assert rep_digest(session, user_id=rep.id, now=NOW).when_empty == "skip"
    crm.task(rep, due_at=NOW - timedelta(days=3))
    assert not rep_digest(session, user_id=rep.id, now=NOW).is_empty


def test_guided_actions_come_from_their_source(session: Session, crm: CRM) -> None:
    rep = crm.user(timezone="UTC", slack_user_id="U1")
    actions = [ActionLine(n, f"Action {n}", "closing") for n in range(7)]
    sources = DigestSources(actions=lambda _s, user_id, _now: actions if user_id == rep.id else [])
    digest = rep_digest(session, user_id=rep.id, now=NOW, sources=sources)
    assert (digest.actions_total, len(digest.actions)) == (7, 5)
    assert not digest.is_empty


@dataclass
class TwoTeams:
    west: Team
    east: Team
    boss: User
    ana: User
    bo: User
    eve: User


def _two_teams(crm: CRM) -> TwoTeams:
    west = crm.team(name="West", timezone="America/Los_Angeles", digest_channel_id="CWEST")
    east = crm.team(name="East", timezone="America/New_York", digest_channel_id="CEAST")
    boss = crm.user(
        name="Wendy Boss",
        team_id=west.id,
        role=Role.MANAGER,
        deal_visibility=DealVisibility.TEAM,
        timezone="America/Los_Angeles",
    )
    ana = crm.user(name="Ana", team_id=west.id, slack_user_id="UANA")
    bo = crm.user(name="Bo", team_id=west.id, slack_user_id="UBO")
    eve = crm.user(name="Eve", team_id=east.id, slack_user_id="UEVE")
    return TwoTeams(west, east, boss, ana, bo, eve)


def test_manager_digest_covers_the_team_and_never_another_teams_deals(
    session: Session, crm: CRM
) -> None:
    t = _two_teams(crm)
    ana, bo, eve = t.ana, t.bo, t.eve
    crm.deal(ana, name="Idle Corp")
    busy = crm.deal(bo, name="Busy Corp")
    crm.task(bo, due_at=NOW + timedelta(days=2), deals=[busy])  # something scheduled
    crm.deal(eve, name="East Secret")
    crm.deal(ana, name="Lost Corp", stage="closedlost")
    for days in (1, 2, 3):
        crm.task(ana, due_at=NOW - timedelta(days=days))
    crm.task(bo, due_at=_la(11, 15))

    risks = DigestSources(
        risks=lambda _s, _viewer, deal_ids, _now: {d: "Deal score falling" for d in deal_ids}
    )
    digest = manager_digest(session, team_id=t.west.id, now=NOW, sources=risks)

    assert digest is not None and digest.channel_id == "CWEST"
    names = [r.name for r in digest.reps]
    assert names == ["Ana", "Bo"]  # Ana needs help first: overdue work and a deal at risk
    shown = {d.name for r in digest.reps for d in r.deals_at_risk + r.deals_without_activity}
    assert shown == {"Idle Corp", "Busy Corp"}
    assert "East Secret" not in shown
    ana_line = digest.reps[0]
    assert (ana_line.overdue, ana_line.due_today) == (3, 0)
    assert digest.totals["overdue"] == 3 and digest.totals["due_today"] == 1


def test_manager_digest_lists_idle_deals_and_respects_owned_only_visibility(
    session: Session, crm: CRM
) -> None:
    t = _two_teams(crm)
    idle = crm.deal(t.ana, name="Idle Corp")
    busy = crm.deal(t.bo, name="Busy Corp")
    crm.meeting(t.bo, starts_at=NOW + timedelta(days=1), deals=[busy])
    digest = manager_digest(session, team_id=t.west.id, now=NOW)
    assert digest is not None
    assert [(d.id, d.reason) for r in digest.reps for d in r.deals_without_activity] == [
        (idle.id, "No activity scheduled")
    ]
    t.boss.deal_visibility = DealVisibility.OWNED
    session.flush()
    narrowed = manager_digest(session, team_id=t.west.id, now=NOW)
    assert narrowed is not None
    assert [d for r in narrowed.reps for d in r.deals_without_activity] == []
