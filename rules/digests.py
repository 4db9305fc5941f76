"""What goes into a digest: the data of a rep's morning DM and of a manager's team digest.

Plain queries and dataclasses; rendering to Block Kit is ``handlers.render.digest``. Days
are the recipient's own (a rep's zone for the DM, the team's zone for the team digest).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from rules.digest_schedule import local_due_at, zone_or_utc
from rules.permissions import can_act_for, visible_owner_clause
from storage.models import (
    OPEN_TASK_STATUSES,
    Activity,
    ActivityDeal,
    ActivityKind,
    Deal,
    EmailDirection,
    Goal,
    GoalMetric,
    MeetingOutcome,
    PipelineStage,
    Role,
    StageState,
    TaskPriority,
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


@dataclass(frozen=True)
class TaskLine:
    id: int
    subject: str
    due_at: datetime
    high_priority: bool


@dataclass(frozen=True)
class TaskBucket:
    """One group of open tasks: ``name`` is overdue, due_today or due_tomorrow."""

    name: str
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
    tasks: list[TaskBucket]
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


def no_actions(_session: Session, _user_id: int, _now: datetime) -> list[ActionLine]:
    return []


def no_risks(
    _session: Session, _viewer: User, _deal_ids: list[int], _now: datetime
) -> dict[int, str]:
    return {}


@dataclass(frozen=True)
class DigestSources:
    actions: ActionSource = no_actions
    risks: RiskSource = no_risks
    default_zone: str = "UTC"


@dataclass(frozen=True)
class LocalDay:
    """A calendar day in a zone, as UTC bounds."""

    local_date: date
    zone: ZoneInfo
    start: datetime = field(compare=False)
    end: datetime = field(compare=False)

    @classmethod
    def of(cls, now: datetime, zone: ZoneInfo) -> LocalDay:
        local_date = utc(now).astimezone(zone).date()
        return cls.for_date(local_date, zone)

    @classmethod
    def for_date(cls, local_date: date, zone: ZoneInfo) -> LocalDay:
        start = local_due_at(local_date, time(0, 0), zone)
        end = local_due_at(local_date + timedelta(days=1), time(0, 0), zone)
        return cls(local_date, zone, start, end)

    def next(self) -> LocalDay:
        return LocalDay.for_date(self.local_date + timedelta(days=1), self.zone)


def user_zone(session: Session, user: User, default_zone: str = "UTC") -> ZoneInfo:
    """The user's zone: their override in preferences, else their Slack/CRM zone."""
    prefs = session.get(UserPreferences, user.id)
    override = prefs.timezone_override if prefs else None
    return zone_or_utc(override or user.timezone, default_zone)


def _open_tasks_of(owner_ids: list[int]) -> ColumnElement[bool]:
    return and_(
        Activity.kind == ActivityKind.TASK,
        Activity.owner_id.in_(owner_ids),
        Activity.status.in_(OPEN_TASK_STATUSES),
        Activity.due_at.is_not(None),
    )


def task_buckets(session: Session, *, user_id: int, day: LocalDay) -> list[TaskBucket]:
    """Overdue (due before today), due today and due tomorrow, in ``day``'s zone."""
    tomorrow = day.next()
    ranges = [
        ("overdue", None, day.start),
        ("due_today", day.start, day.end),
        ("due_tomorrow", tomorrow.start, tomorrow.end),
    ]
    buckets = []
    for name, start, end in ranges:
        where = [_open_tasks_of([user_id]), Activity.due_at < end]
        if start is not None:
            where.append(Activity.due_at >= start)
        count = session.scalar(select(func.count(Activity.id)).where(*where)) or 0
        # High priority first, then the oldest (overdue) or the earliest (today, tomorrow).
        rows = session.scalars(
            select(Activity)
            .where(*where)
            .order_by((Activity.priority == TaskPriority.HIGH).desc(), Activity.due_at, Activity.id)
            .limit(TOP_TASKS)
        ).all()
        top = [
            TaskLine(
                t.id,
                t.subject or "Task",
                t.due_at or day.start,
                t.priority == TaskPriority.HIGH,
            )
            for t in rows
        ]
        buckets.append(TaskBucket(name, count, top))
    return buckets


def _meetings_today(where_owner: ColumnElement[bool], day: LocalDay) -> list[ColumnElement[bool]]:
    return [
        Activity.kind == ActivityKind.MEETING,
        where_owner,
        Activity.starts_at >= day.start,
        Activity.starts_at < day.end,
        or_(Activity.outcome.is_(None), Activity.outcome != MeetingOutcome.CANCELED),
    ]


def todays_meetings(
    session: Session, *, user_id: int, day: LocalDay, now: datetime
) -> tuple[list[MeetingLine], int]:
    """Today's meetings (not cancelled), earliest first, and how many there are."""
    where = _meetings_today(Activity.owner_id == user_id, day)
    total = session.scalar(select(func.count(Activity.id)).where(*where)) or 0
    rows = session.scalars(
        select(Activity).where(*where).order_by(Activity.starts_at, Activity.id).limit(TOP_MEETINGS)
    ).all()
    now = utc(now)
    lines = []
    for m in rows:
        ended = m.ends_at is not None and m.ends_at <= now
        unset = m.outcome in (None, "", MeetingOutcome.SCHEDULED)
        lines.append(
            MeetingLine(
                m.id,
                m.subject or "Meeting",
                m.starts_at or day.start,
                m.ends_at,
                m.meeting_link,
                ended and unset,
            )
        )
    return lines, total


def _week_start(day: LocalDay) -> datetime:
    monday = day.local_date - timedelta(days=day.local_date.weekday())
    return local_due_at(monday, time(0, 0), day.zone)


def goal_progress(
    session: Session, *, user_id: int, day: LocalDay, now: datetime
) -> list[GoalLine]:
    """Each weekly goal of the user with what is done since Monday 00:00 in their zone."""
    goals = session.scalars(select(Goal).where(Goal.user_id == user_id).order_by(Goal.id)).all()
    if not goals:
        return []
    since, until = _week_start(day), utc(now)
    counters: dict[GoalMetric, ColumnElement[bool]] = {
        GoalMetric.MEETINGS_BOOKED: and_(
            Activity.kind == ActivityKind.MEETING,
            Activity.owner_id == user_id,
            Activity.created_at >= since,
            Activity.created_at < until,
        ),
        GoalMetric.CALLS_LOGGED: and_(
            Activity.kind == ActivityKind.CALL,
            Activity.owner_id == user_id,
            Activity.occurred_at >= since,
            Activity.occurred_at < until,
        ),
        GoalMetric.TASKS_COMPLETED: and_(
            Activity.kind == ActivityKind.TASK,
            or_(Activity.completed_by_id == user_id, Activity.owner_id == user_id),
            Activity.completed_at >= since,
            Activity.completed_at < until,
        ),
        GoalMetric.EMAILS_SENT: and_(
            Activity.kind == ActivityKind.EMAIL,
            Activity.owner_id == user_id,
            Activity.direction == EmailDirection.OUTGOING,
            Activity.occurred_at >= since,
            Activity.occurred_at < until,
        ),
    }
    lines = []
    for goal in goals:
        condition = counters.get(GoalMetric(goal.metric))
        done = 0
        if condition is not None:
            done = session.scalar(select(func.count(Activity.id)).where(condition)) or 0
        lines.append(GoalLine(GoalMetric(goal.metric), goal.weekly_target, done))
    return lines


def rep_digest(
    session: Session, *, user_id: int, now: datetime, sources: DigestSources | None = None
) -> RepDigest:
    """Everything a rep's morning DM shows, for the rep's local day at ``now``.

    Raises:
        LookupError: no such user.
    """
    sources = sources or DigestSources()
    user = session.get(User, user_id)
    if user is None:
        raise LookupError(f"no user {user_id}")
    zone = user_zone(session, user, sources.default_zone)
    day = LocalDay.of(now, zone)
    meetings, meetings_total = todays_meetings(session, user_id=user.id, day=day, now=now)
    actions = sources.actions(session, user.id, now)
    prefs = session.get(UserPreferences, user.id)
    return RepDigest(
        user_id=user.id,
        name=user.name,
        slack_user_id=user.slack_user_id,
        zone=zone.key,
        local_date=day.local_date,
        tasks=task_buckets(session, user_id=user.id, day=day),
        meetings=meetings,
        meetings_total=meetings_total,
        actions=actions[:TOP_ACTIONS],
        actions_total=len(actions),
        goals=goal_progress(session, user_id=user.id, day=day, now=now),
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


def deals_without_activity(
    session: Session, *, viewer: User, owner_ids: list[int], now: datetime
) -> list[Deal]:
    """Open deals of ``owner_ids`` that ``viewer`` may see with no future task or meeting."""
    now = utc(now)
    upcoming = (
        select(ActivityDeal.deal_id)
        .join(Activity, Activity.id == ActivityDeal.activity_id)
        .where(
            ActivityDeal.deal_id == Deal.id,
            or_(
                and_(
                    Activity.kind == ActivityKind.TASK,
                    Activity.status.in_(OPEN_TASK_STATUSES),
                    Activity.due_at >= now,
                ),
                and_(
                    Activity.kind == ActivityKind.MEETING,
                    Activity.starts_at >= now,
                    or_(Activity.outcome.is_(None), Activity.outcome != MeetingOutcome.CANCELED),
                ),
            ),
        )
    )
    return list(
        session.scalars(
            select(Deal)
            .join(PipelineStage, PipelineStage.id == Deal.stage_id)
            .where(
                PipelineStage.state == StageState.OPEN,
                Deal.owner_id.in_(owner_ids),
                visible_owner_clause(viewer, Deal.owner_id),
                ~exists(upcoming),
            )
            .order_by(Deal.amount.desc().nulls_last(), Deal.id)
        )
    )


def _open_visible_deal_ids(session: Session, viewer: User, owner_ids: list[int]) -> list[int]:
    return list(
        session.scalars(
            select(Deal.id)
            .join(PipelineStage, PipelineStage.id == Deal.stage_id)
            .where(
                PipelineStage.state == StageState.OPEN,
                Deal.owner_id.in_(owner_ids),
                visible_owner_clause(viewer, Deal.owner_id),
            )
        )
    )


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
    day = LocalDay.of(now, zone)
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
    idle = deals_without_activity(session, viewer=manager, owner_ids=member_ids, now=now)
    risks = sources.risks(
        session, manager, _open_visible_deal_ids(session, manager, member_ids), now
    )
    risky_deals = {d.id: d for d in session.scalars(select(Deal).where(Deal.id.in_(list(risks))))}
    summaries = []
    for member in members:
        buckets = {b.name: b.count for b in task_buckets(session, user_id=member.id, day=day)}
        meetings = (
            session.scalar(
                select(func.count(Activity.id)).where(
                    *_meetings_today(Activity.owner_id == member.id, day)
                )
            )
            or 0
        )
        at_risk = [
            DealLine(d.id, d.name, d.owner_id, risks[d.id])
            for d in risky_deals.values()
            if d.owner_id == member.id
        ]
        at_risk_ids = {d.id for d in at_risk}
        member_idle = [
            DealLine(d.id, d.name, d.owner_id, "No activity scheduled")
            for d in idle
            if d.owner_id == member.id and d.id not in at_risk_ids
        ]
        summaries.append(
            RepSummary(
                user_id=member.id,
                name=member.name,
                slack_user_id=member.slack_user_id,
                overdue=buckets.get("overdue", 0),
                due_today=buckets.get("due_today", 0),
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
        local_date=day.local_date,
        reps=summaries,
    )
