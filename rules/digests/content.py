"""What goes into a digest: the data of a rep's morning DM and of a manager's team digest.

Dataclasses filled from the workspace's own queries (``rules.tasks.queries``,
``rules.meetings.queries``, ``rules.workspace.overview``, ``rules.deals.queries``), so a digest
and the Home tab agree; rendering to Block Kit is ``handlers.render.digest``. Days are each
person's own (``rules.clock``); the team digest's date is the team's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.clock import MONDAY, UserClock, clock_for, zone_or_utc
from rules.deals.queries import DealCategory, DealFilters, deals_page
from rules.deals.wording import CATEGORY_LABELS
from rules.guided_actions import open_actions
from rules.meetings.queries import meetings_between
from rules.permissions import can_act_for
from rules.tasks.queries import BUCKET_ORDER, TaskBucket, TaskGroup, task_buckets
from rules.workspace.overview import GOAL_METRICS, goals_progress, weekly_counts
from storage.models import (
    Goal,
    GoalMetric,
    MeetingOutcome,
    Role,
    Team,
    User,
    UserPreferences,
)
from storage.types import utc

# How many items of each kind a digest lists; the rest is behind "Open Home".
TOP_TASKS = 3
TOP_MEETINGS = 5
TOP_ACTIONS = 5
TOP_DEALS_PER_REP = 3
# Why an idle deal is listed: the Deals view's name for its category.
IDLE_REASON = CATEGORY_LABELS[DealCategory.NO_ACTIVITY_SCHEDULED]


@dataclass(frozen=True)
class TaskLine:
    id: int
    subject: str
    due_at: datetime
    high_priority: bool


@dataclass(frozen=True)
class BucketSummary:
    """One bucket of open tasks (overdue, today, tomorrow): how many, and the first few."""

    bucket: TaskBucket
    count: int
    top: list[TaskLine]


@dataclass(frozen=True)
class MeetingLine:
    id: int
    subject: str
    starts_at: datetime
    ends_at: datetime | None
    link: str | None
    # It has ended and its outcome is still unset or "scheduled": offer "Log outcome".
    needs_outcome: bool


@dataclass(frozen=True)
class ActionLine:
    """An open guided action as the digest shows it (from the guided-actions rules)."""

    id: int
    title: str
    category: str  # closing | prospecting | other
    item_count: int = 1
    call_to_action: str = "Start"
    title_template: str = ""  # as ActionView's: translated, then formatted with title_value
    title_value: int | str = ""


@dataclass(frozen=True)
class GoalLine:
    metric: GoalMetric
    target: int
    done: int


@dataclass(frozen=True)
class RepDigest:
    user_id: int
    name: str
    slack_user_id: str | None
    zone: str
    local_date: date
    tasks: list[BucketSummary]
    meetings: list[MeetingLine]
    meetings_total: int
    actions: list[ActionLine]
    actions_total: int
    goals: list[GoalLine]
    # "all_clear" (one line) or "skip" (nothing) when there is nothing to do.
    when_empty: str = "all_clear"

    @property
    def is_empty(self) -> bool:
        return (
            all(b.count == 0 for b in self.tasks)
            and self.meetings_total == 0
            and self.actions_total == 0
        )


@dataclass(frozen=True)
class DealLine:
    id: int
    name: str
    owner_id: int | None
    reason: str


@dataclass(frozen=True)
class RepSummary:
    """One rep's line in the manager digest."""

    user_id: int
    name: str
    slack_user_id: str | None
    overdue: int
    due_today: int
    meetings_today: int
    open_actions: int
    deals_at_risk: list[DealLine]
    deals_without_activity: list[DealLine]

    @property
    def help_score(self) -> int:
        """Who needs help first: risks weigh most, then overdue work, then idle deals."""
        return (
            3 * len(self.deals_at_risk)
            + 2 * self.overdue
            + len(self.deals_without_activity)
            + self.due_today // 3
        )


@dataclass(frozen=True)
class ManagerDigest:
    team_id: int
    team_name: str
    channel_id: str | None
    manager_id: int
    zone: str
    local_date: date
    reps: list[RepSummary]  # who needs help first, first

    @property
    def totals(self) -> dict[str, int]:
        return {
            "overdue": sum(r.overdue for r in self.reps),
            "due_today": sum(r.due_today for r in self.reps),
            "meetings_today": sum(r.meetings_today for r in self.reps),
            "open_actions": sum(r.open_actions for r in self.reps),
            "deals_at_risk": sum(len(r.deals_at_risk) for r in self.reps),
            "deals_without_activity": sum(len(r.deals_without_activity) for r in self.reps),
        }


# Guided actions and CRM risks come from other parts of the domain; the digest takes them
# as functions so it does not care how they are computed.
# (session, user id, now) -> open actions of that user, most important first.
ActionSource = Callable[[Session, int, datetime], list[ActionLine]]
# (session, viewer, deal ids, now) -> {deal id: short reason} for deals at risk.
RiskSource = Callable[[Session, User, list[int], datetime], dict[int, str]]


def guided_actions(session: Session, user_id: int, now: datetime) -> list[ActionLine]:
    """The user's open guided actions, ranked as the Home tab ranks them, muted types left out.

    Meeting, call, task and sequence actions (category "all" in ``rules.guided_actions``) are
    grouped as "other" in the digest.
    """
    return [
        ActionLine(
            id=view.id,
            title=view.title,
            category=view.category if view.category in ("closing", "prospecting") else "other",
            item_count=len(view.items),
            call_to_action=view.call_to_action,
            title_template=view.title_template,
            title_value=view.title_value,
        )
        for view in open_actions(session, user_id=user_id, now=now)
    ]


def no_risks(
    _session: Session, _viewer: User, _deal_ids: list[int], _now: datetime
) -> dict[int, str]:
    return {}


@dataclass(frozen=True)
class DigestSources:
    actions: ActionSource = guided_actions
    risks: RiskSource = no_risks
    default_zone: str = "UTC"


# The digest lists the Home tab's own buckets and meetings (rules.tasks.queries,
# rules.meetings.queries, rules.workspace.overview), so a task is in the same bucket in both places.


def _bucket(group: TaskGroup) -> BucketSummary:
    top = [
        TaskLine(t.id, t.subject, t.due_at, t.is_high_priority)
        for t in group.tasks[:TOP_TASKS]
        if t.due_at is not None
    ]
    return BucketSummary(group.bucket, group.count, top)


def _task_buckets(session: Session, user: User, now: datetime) -> list[BucketSummary]:
    buckets = task_buckets(session, user, now=now)
    return [_bucket(buckets.group(bucket)) for bucket in BUCKET_ORDER]


def _todays_meetings(
    session: Session, user: User, clock: UserClock
) -> tuple[list[MeetingLine], int]:
    meetings = meetings_between(session, user, clock=clock, window=clock.today_range)
    # Today's meetings are those that start today (one running past midnight is yesterday's).
    todays = [m for m in meetings if m.starts_at in clock.today_range]
    now = utc(clock.now)
    lines = [
        MeetingLine(
            m.id,
            m.title,
            m.starts_at,
            m.ends_at,
            m.meeting_link,
            m.ends_at <= now and m.outcome in (None, "", MeetingOutcome.SCHEDULED),
        )
        for m in todays[:TOP_MEETINGS]
    ]
    return lines, len(todays)


def _goals(session: Session, user: User, now: datetime, first_weekday: int) -> list[GoalLine]:
    metrics = session.scalars(select(Goal.metric).where(Goal.user_id == user.id)).all()
    if not metrics:
        return []
    # Count only the metrics that have a goal (the Overview counts every one).
    counted = tuple(dict.fromkeys(GOAL_METRICS[GoalMetric(m)] for m in metrics))
    counts = weekly_counts(session, user, now=now, metrics=counted, first_weekday=first_weekday)
    return [
        GoalLine(g.metric, g.target, g.achieved)
        for g in goals_progress(session, user, now=now, counts=counts)
    ]


def rep_digest(
    session: Session,
    *,
    user_id: int,
    now: datetime,
    sources: DigestSources | None = None,
    first_weekday: int = MONDAY,
) -> RepDigest:
    """Everything a rep's morning DM shows, for the rep's local day at ``now`` (goals count
    the week starting on ``first_weekday``, the rep's locale's: 0 = Monday, 6 = Sunday).

    Raises:
        LookupError: no such user.
    """
    sources = sources or DigestSources()
    user = session.get(User, user_id)
    if user is None:
        raise LookupError(f"no user {user_id}")
    clock = clock_for(session, user, now=now)
    meetings, meetings_total = _todays_meetings(session, user, clock)
    actions = sources.actions(session, user.id, now)
    prefs = session.get(UserPreferences, user.id)
    return RepDigest(
        user_id=user.id,
        name=user.name,
        slack_user_id=user.slack_user_id,
        zone=clock.zone.key,
        local_date=clock.today,
        tasks=_task_buckets(session, user, now),
        meetings=meetings,
        meetings_total=meetings_total,
        actions=actions[:TOP_ACTIONS],
        actions_total=len(actions),
        goals=_goals(session, user, now, first_weekday),
        when_empty=(prefs.empty_digest if prefs else "all_clear") or "all_clear",
    )


def team_manager(session: Session, team_id: int) -> User | None:
    """The manager whose permissions a team digest is written with (the first, by id)."""
    return session.scalar(
        select(User)
        .where(User.team_id == team_id, User.role == Role.MANAGER, User.is_active.is_(True))
        .order_by(User.id)
        .limit(1)
    )


def _team_deals(
    session: Session, manager: User, member_ids: list[int], now: datetime, category: DealCategory
) -> list[tuple[int, str, int | None]]:
    """(id, name, owner) of the team's deals in ``category`` that the manager may see."""
    if not member_ids:
        return []
    page = deals_page(
        session,
        manager,
        now=now,
        category=category,
        filters=DealFilters(owner_ids=frozenset(member_ids)),
        limit=500,
    )
    return [(d.id, d.name, d.owner_id) for d in page.deals]


def manager_digest(
    session: Session, *, team_id: int, now: datetime, sources: DigestSources | None = None
) -> ManagerDigest | None:
    """The team digest, written with the team manager's permissions; None without a manager.

    Only the team's own active reps appear, only if the manager may act for them, and only
    the deals the manager may see (``rules.permissions``): another team's deals never do.
    """
    sources = sources or DigestSources()
    team = session.get(Team, team_id)
    if team is None:
        return None
    manager = team_manager(session, team_id)
    if manager is None:
        return None
    zone = zone_or_utc(team.timezone, sources.default_zone)
    members = [
        u
        for u in session.scalars(
            select(User)
            .where(User.team_id == team_id, User.is_active.is_(True), User.role == Role.REP)
            .order_by(User.name, User.id)
        )
        if can_act_for(session, manager, u.id)
    ]
    member_ids = [u.id for u in members]
    idle = _team_deals(session, manager, member_ids, now, DealCategory.NO_ACTIVITY_SCHEDULED)
    open_deals = _team_deals(session, manager, member_ids, now, DealCategory.OPEN)
    risks = sources.risks(session, manager, [deal_id for deal_id, _, _ in open_deals], now)
    summaries = []
    for member in members:
        # Each rep's own day: "overdue" means overdue on their clock.
        clock = clock_for(session, member, now=now)
        buckets = {b.bucket: b.count for b in _task_buckets(session, member, now)}
        _, meetings = _todays_meetings(session, member, clock)
        at_risk = [
            DealLine(deal_id, name, owner_id, risks[deal_id])
            for deal_id, name, owner_id in open_deals
            if owner_id == member.id and deal_id in risks
        ]
        at_risk_ids = {d.id for d in at_risk}
        member_idle = [
            DealLine(deal_id, name, owner_id, IDLE_REASON)
            for deal_id, name, owner_id in idle
            if owner_id == member.id and deal_id not in at_risk_ids
        ]
        summaries.append(
            RepSummary(
                user_id=member.id,
                name=member.name,
                slack_user_id=member.slack_user_id,
                overdue=buckets[TaskBucket.OVERDUE],
                due_today=buckets[TaskBucket.TODAY],
                meetings_today=meetings,
                open_actions=len(sources.actions(session, member.id, now)),
                deals_at_risk=at_risk,
                deals_without_activity=member_idle,
            )
        )
    summaries.sort(key=lambda r: (-r.help_score, r.name))
    return ManagerDigest(
        team_id=team.id,
        team_name=team.name,
        channel_id=team.digest_channel_id,
        manager_id=manager.id,
        zone=zone.key,
        local_date=utc(now).astimezone(zone).date(),
        reps=summaries,
    )
