"""The predicate handlers the rules are built from: each a small function to a SQL boolean.

Everything here is set-based: a predicate is a clause over the rule's subject (correlated
subqueries reach activities through the link tables, indexed by the subject's id), so one
statement evaluates a rule for every record at once. Conventions at boundaries:
"at least N" is ``<=``/``>=`` inclusive, "more than N" is strict, "less than N ago" is strict,
"within the last N days" includes the instant exactly N days ago.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from rules.guided_actions.model import Alias, Condition, Ctx, Subject, shared_alias, you_row
from storage.models import (
    OPEN_TASK_STATUSES,
    Activity,
    ActivityCompany,
    ActivityContact,
    ActivityDeal,
    ActivityKind,
    ActivityLead,
    CallStatus,
    Contact,
    DealContact,
    EmailDirection,
    Lead,
    MeetingOutcome,
    PipelineStage,
    StageState,
    TaskPriority,
    TaskStatus,
    UserPreferences,
)
from storage.types import UTCDateTime

# --- SQL helpers -------------------------------------------------------------------------


def at(value: datetime) -> ColumnElement[Any]:
    """A timestamp literal stored the way the columns are (UTC)."""
    return literal(value, UTCDateTime())


def does_not_hold(clause: ColumnElement[bool]) -> ColumnElement[bool]:
    """NOT, where an unknown (NULL) counts as "does not hold" instead of staying unknown."""
    return case((clause, false()), else_=true())


def as_flag(clause: ColumnElement[bool]) -> ColumnElement[int]:
    """1 when the clause holds, else 0 (also for NULL): portable booleans for ``explain``."""
    return case((clause, 1), else_=0)


class _TimeText(FunctionElement[str]):
    """A timestamp as text, identical for identical instants on one database."""

    type = String()
    inherit_cache = True
    name = "time_text"


@compiles(_TimeText)
def _time_text_default(element: _TimeText, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores timestamps as fixed-format UTC text already.
    return "CAST(%s AS VARCHAR)" % compiler.process(element.clauses, **kw)  # noqa: UP031


@compiles(_TimeText, "postgresql")
def _time_text_pg(element: _TimeText, compiler: SQLCompiler, **kw: Any) -> str:
    inner = compiler.process(element.clauses, **kw)
    return f"to_char(({inner}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"


class _Latest(FunctionElement[Any]):
    """The latest of several timestamps, ignoring NULLs; each argument is evaluated once."""

    inherit_cache = True
    name = "latest_of"

    @property
    def type(self) -> Any:  # type: ignore[override]
        return UTCDateTime()


@compiles(_Latest)
def _latest_default(element: _Latest, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite: max() of several values is NULL if any is; '' sorts before every timestamp.
    args = ", ".join(f"coalesce({compiler.process(c, **kw)}, '')" for c in element.clauses)
    return f"nullif(max({args}), '')"


@compiles(_Latest, "postgresql")
def _latest_pg(element: _Latest, compiler: SQLCompiler, **kw: Any) -> str:
    return "greatest(%s)" % compiler.process(element.clauses, **kw)  # noqa: UP031


def time_text(expr: ColumnElement[Any]) -> ColumnElement[str]:
    return _TimeText(expr)


# --- who "you" are -------------------------------------------------------------------------


def your_email(ctx: Ctx) -> ColumnElement[Any]:
    return func.lower(you_row().email)


def your_domain(ctx: Ctx) -> ColumnElement[Any]:
    return func.lower(you_row().email_domain)


def _your_zone(ctx: Ctx) -> ColumnElement[Any]:
    override = (
        select(UserPreferences.timezone_override)
        .where(UserPreferences.user_id == ctx.you)
        .correlate_except(UserPreferences)
        .scalar_subquery()
    )
    return func.coalesce(override, you_row().timezone)


def _your_day(ctx: Ctx, index: int) -> ColumnElement[Any]:
    if not ctx.days.by_zone:
        return at(ctx.days.default[index])
    whens = {zone: at(bounds[index]) for zone, bounds in ctx.days.by_zone.items()}
    return case(whens, value=_your_zone(ctx), else_=at(ctx.days.default[index]))


# --- activities around a record ------------------------------------------------------------


Path = Callable[[list[Any], Any], Select[Any]]


@dataclass(frozen=True)
class Links:
    """How to reach the activities associated with a record: one or more join paths.

    Each path is ``link table JOIN activities`` filtered by the record's id, so the database
    walks the link index for each record instead of scanning activities.
    """

    paths: tuple[Path, ...]


def _path(link: Any, key: str, value: Any, *extra: Any) -> Path:
    def build(columns: list[Any], a: Any) -> Select[Any]:
        query = select(*columns).select_from(link.table)
        for table, on in extra:
            query = query.join(table.table, on)
        return (
            query.join(a.table, a.id == link.activity_id)
            .where(getattr(link, key) == value)
            .correlate_except(link.table, a.table, *(t.table for t, _ in extra))
        )

    return build


def activity_ids(subject: Subject | str, entity: Any) -> Links:
    """The activities associated with the record (a lead: its own and its contact's)."""
    if subject == Subject.CONTACT:
        return Links((_path(shared_alias(ActivityContact), "contact_id", entity.id),))
    if subject == Subject.LEAD:
        return Links(
            (
                _path(shared_alias(ActivityLead), "lead_id", entity.id),
                _path(shared_alias(ActivityContact), "contact_id", entity.contact_id),
            )
        )
    if subject == Subject.DEAL:
        return Links((_path(shared_alias(ActivityDeal), "deal_id", entity.id),))
    if subject == "deal_contacts":
        # deal_contacts JOIN activity_contacts JOIN activities.
        dc, ac = shared_alias(DealContact), shared_alias(ActivityContact)

        def build(columns: list[Any], a: Any) -> Select[Any]:
            return (
                select(*columns)
                .select_from(dc.table)
                .join(ac.table, ac.contact_id == dc.contact_id)
                .join(a.table, a.id == ac.activity_id)
                .where(dc.deal_id == entity.id)
                .correlate_except(dc.table, ac.table, a.table)
            )

        return Links((build,))
    raise ValueError(f"no activity links for {subject!r}")


ActivityClause = Callable[[Any], ColumnElement[bool]]


def any_activity(links: Links, where: ActivityClause) -> ColumnElement[bool]:
    """Some associated activity satisfies ``where``."""
    a = shared_alias(Activity)
    found = [exists(path([literal(1)], a).where(where(a))) for path in links.paths]
    return found[0] if len(found) == 1 else or_(*found)


def latest(links: Links, value: Callable[[Any], ColumnElement[Any]]) -> ColumnElement[Any]:
    """The greatest ``value`` over the associated activities (NULL when none has one)."""
    a = shared_alias(Activity)
    maxes: list[ColumnElement[Any]] = [
        path([func.max(value(a))], a).scalar_subquery() for path in links.paths
    ]
    return maxes[0] if len(maxes) == 1 else _Latest(*maxes)


def engaged_at(a: Any) -> ColumnElement[Any]:
    """When an activity counts as the record engaging [choice]: an inbound email, a reply, an
    email open or click, a completed meeting or call. NULL when it is no engagement."""
    return case(
        (and_(a.kind == ActivityKind.EMAIL, a.direction == EmailDirection.INCOMING), a.occurred_at),
        (a.kind == ActivityKind.EMAIL, func.coalesce(a.replied_at, a.clicked_at, a.opened_at)),
        (
            and_(a.kind == ActivityKind.MEETING, a.outcome == MeetingOutcome.COMPLETED.value),
            a.ends_at,
        ),
        (
            and_(a.kind == ActivityKind.CALL, a.call_status == CallStatus.COMPLETED),
            func.coalesce(a.ends_at, a.starts_at),
        ),
        else_=null(),
    )


def _sent_by_you(a: Any, ctx: Ctx) -> ColumnElement[bool]:
    return and_(
        a.kind == ActivityKind.EMAIL,
        a.direction == EmailDirection.OUTGOING,
        a.owner_id == ctx.you,
        a.occurred_at <= ctx.now,
    )


def _to_you(a: Any, ctx: Ctx) -> ColumnElement[bool]:
    """An inbound email where you are the primary recipient."""
    return and_(
        a.kind == ActivityKind.EMAIL,
        a.direction == EmailDirection.INCOMING,
        func.lower(a.primary_recipient) == your_email(ctx),
    )


@cache
def _answered_email() -> Alias:
    """The email an inbound reply answers (its own alias: it sits inside ``a``'s subquery)."""
    return Alias(Activity, "answered")


def answers_your_email(a: Any, ctx: Ctx) -> ColumnElement[bool]:
    """``a`` is an inbound email threaded onto (``in_reply_to``) an email you sent."""
    sent = _answered_email()
    return and_(
        a.kind == ActivityKind.EMAIL,
        a.direction == EmailDirection.INCOMING,
        exists(
            select(1)
            .where(sent.id == a.in_reply_to_id, _sent_by_you(sent, ctx))
            .correlate_except(sent.table)
        ),
    )


@cache
def _threaded_reply() -> Alias:
    return Alias(Activity, "threaded_reply")


def has_threaded_reply(a: Any, ctx: Ctx) -> ColumnElement[bool]:
    """An inbound email threaded onto ``a`` (``in_reply_to``) has arrived by now."""
    reply = _threaded_reply()
    return exists(
        select(1)
        .where(
            reply.in_reply_to_id == a.id,
            reply.kind == ActivityKind.EMAIL,
            reply.direction == EmailDirection.INCOMING,
            reply.occurred_at <= ctx.now,
        )
        .correlate_except(reply.table)
    )


def reply_to_your_email_at(a: Any, ctx: Ctx) -> ColumnElement[Any]:
    """When the record replied to an email you sent (rule 5): the reply recorded on your
    sent email, or an inbound email threaded onto it (``in_reply_to``). An unprompted
    inbound email is no reply to your email (rule 9 is for those)."""
    return case(
        (and_(_sent_by_you(a, ctx), a.replied_at.is_not(None)), a.replied_at),
        (answers_your_email(a, ctx), a.occurred_at),
        else_=null(),
    )


def reply_to_you_at(a: Any, ctx: Ctx) -> ColumnElement[Any]:
    """When the record wrote back to you (rule 10 [choice]): the reply recorded on your sent
    email, or any inbound email that is yours or names you as primary recipient."""
    return case(
        (and_(_sent_by_you(a, ctx), a.replied_at.is_not(None)), a.replied_at),
        (
            and_(
                a.kind == ActivityKind.EMAIL,
                a.direction == EmailDirection.INCOMING,
                or_(a.owner_id == ctx.you, func.lower(a.primary_recipient) == your_email(ctx)),
            ),
            a.occurred_at,
        ),
        else_=null(),
    )


def inbound_to_you_at(a: Any, ctx: Ctx) -> ColumnElement[Any]:
    return case((_to_you(a, ctx), a.occurred_at), else_=null())


def in_window(value: ColumnElement[Any], ctx: Ctx, days: int) -> ColumnElement[bool]:
    return and_(value >= ctx.now - timedelta(days=days), value <= ctx.now)


def case_when(condition: ColumnElement[bool], value: ColumnElement[Any]) -> ColumnElement[Any]:
    """``value`` where ``condition`` holds, else NULL (for aggregates over a subset)."""
    return case((condition, value), else_=null())


def _stage_state(entity: Any) -> ColumnElement[Any]:
    return (
        select(PipelineStage.state)
        .where(PipelineStage.id == entity.stage_id)
        .correlate_except(PipelineStage)
        .scalar_subquery()
    )


def _first_stage_id(entity: Any) -> ColumnElement[Any]:
    return (
        select(PipelineStage.id)
        .where(PipelineStage.pipeline_id == entity.pipeline_id)
        .order_by(PipelineStage.display_order, PipelineStage.id)
        .limit(1)
        .correlate_except(PipelineStage)
        .scalar_subquery()
    )


# --- conditions shared by several rules ------------------------------------------------------


def assigned_to_you(what: str) -> Condition:
    return Condition(
        "assigned_to_you", f"the {what} is assigned to you", lambda c: c.subject.owner_id == c.you
    )


def reassigned(what: str) -> Condition:
    return Condition(
        "reassigned",
        f"the {what} is reassigned",
        lambda c: does_not_hold(c.subject.owner_id == c.you),
    )


def action_age(days: int, *, strict: bool) -> Condition:
    """ "The action is N days old" (inclusive) or "created more than N days ago" (strict)."""
    span = timedelta(days=days)
    if strict:
        return Condition(
            f"created_more_than_{days}_days_ago",
            f"the action was created more than {days} days ago",
            lambda c: c.created_at < c.now - span,
            deadline=lambda _record, created: created + span,
        )
    return Condition(
        f"age_{days}_days",
        f"the action is {days} days old",
        lambda c: c.created_at <= c.now - span,
        deadline=lambda _record, created: created + span,
    )


def open_stage(what: str) -> Condition:
    return Condition(
        "open_stage", f"the {what} is in an open stage", lambda c: _stage_state(c.subject) == "open"
    )


def closed(what: str) -> Condition:
    return Condition(
        "closed",
        f"the {what} is closed",
        lambda c: does_not_hold(_stage_state(c.subject) == StageState.OPEN.value),
    )


def first_stage(what: str) -> Condition:
    return Condition(
        "first_stage",
        f"the {what} is in the first stage of its pipeline",
        lambda c: c.subject.stage_id == _first_stage_id(c.subject),
    )


def no_open_lead() -> Condition:
    def sql(c: Ctx) -> ColumnElement[bool]:
        lead = shared_alias(Lead)
        stage = shared_alias(PipelineStage)
        return ~exists(
            select(1)
            .select_from(lead.table)
            .join(stage.table, stage.id == lead.stage_id)
            .where(lead.contact_id == c.subject.id, stage.state == StageState.OPEN)
            .correlate_except(lead.table, stage.table)
        )

    return Condition("no_open_lead", "the contact has no open lead", sql)


def engaged_within(subject: Subject, days: int) -> Condition:
    return Condition(
        f"engaged_within_{days}_days",
        f"it engaged within the last {days} days",
        lambda c: any_activity(
            activity_ids(subject, c.subject), lambda a: in_window(engaged_at(a), c, days)
        ),
    )


def more_than_days_since_engaged(subject: Subject, days: int) -> Condition:
    inner = engaged_within(subject, days)
    return Condition(
        f"more_than_{days}_days_since_engaged",
        f"more than {days} days since it engaged",
        lambda c: does_not_hold(inner.sql(c)),
    )


def latest_engagement(subject: Subject) -> Callable[[Ctx], ColumnElement[str]]:
    def episode(c: Ctx) -> ColumnElement[str]:
        ids = activity_ids(subject, c.subject)
        value = latest(ids, lambda a: case((engaged_at(a) <= c.now, engaged_at(a)), else_=null()))
        return time_text(value)

    return episode


def you_emailed_after_creation(subject: Subject | str, what: str) -> Condition:
    return Condition(
        "you_emailed_after_creation",
        f"you email the {what} after the action was created",
        lambda c: any_activity(
            activity_ids(subject, c.subject),
            lambda a: and_(_sent_by_you(a, c), a.occurred_at > c.created_at),
        ),
    )


def _no_email_from_you_since(
    subject: Subject | str, since: Callable[[Ctx], ColumnElement[Any]]
) -> Callable[[Ctx], ColumnElement[bool]]:
    def sql(c: Ctx) -> ColumnElement[bool]:
        return ~any_activity(
            activity_ids(subject, c.subject),
            lambda a: and_(_sent_by_you(a, c), a.occurred_at > since(c)),
        )

    return sql


def latest_reply_to_you(subject: Subject | str) -> Callable[[Ctx], ColumnElement[Any]]:
    return _latest_up_to_now(subject, reply_to_you_at)


def latest_reply_to_your_email(subject: Subject | str) -> Callable[[Ctx], ColumnElement[Any]]:
    return _latest_up_to_now(subject, reply_to_your_email_at)


def _latest_up_to_now(
    subject: Subject | str, when: Callable[[Any, Ctx], ColumnElement[Any]]
) -> Callable[[Ctx], ColumnElement[Any]]:
    def value(c: Ctx) -> ColumnElement[Any]:
        return latest(
            activity_ids(subject, c.subject),
            lambda a: case((when(a, c) <= c.now, when(a, c)), else_=null()),
        )

    return value


def latest_inbound_to_you(subject: Subject | str) -> Callable[[Ctx], ColumnElement[Any]]:
    def value(c: Ctx) -> ColumnElement[Any]:
        return latest(
            activity_ids(subject, c.subject),
            lambda a: case(
                (inbound_to_you_at(a, c) <= c.now, inbound_to_you_at(a, c)), else_=null()
            ),
        )

    return value


def replied_to_your_email_within(subject: Subject | str, days: int, text: str) -> Condition:
    return Condition(
        f"replied_within_{days}_days",
        text,
        lambda c: any_activity(
            activity_ids(subject, c.subject),
            lambda a: in_window(reply_to_your_email_at(a, c), c, days),
        ),
        deadline=None,
    )


def wrote_to_you_within(subject: Subject | str, days: int, what: str) -> Condition:
    return Condition(
        f"wrote_to_you_within_{days}_days",
        f"the {what} replied to an email in which you are the primary recipient, "
        f"in the last {days} days",
        lambda c: any_activity(
            activity_ids(subject, c.subject), lambda a: in_window(inbound_to_you_at(a, c), c, days)
        ),
    )


def not_answered(since: Callable[[Ctx], ColumnElement[Any]], subject: Subject | str) -> Condition:
    return Condition(
        "not_answered_yet",
        "you have not emailed back since",
        _no_email_from_you_since(subject, since),
    )


def other_domain(domain: Callable[[Ctx], ColumnElement[Any]], what: str) -> Condition:
    return Condition(
        "other_domain",
        f"the {what}'s email domain differs from yours",
        lambda c: and_(
            domain(c).is_not(None), func.lower(domain(c)) != func.coalesce(your_domain(c), "")
        ),
    )


def lead_domain(c: Ctx) -> ColumnElement[Any]:
    return (
        select(Contact.email_domain)
        .where(Contact.id == c.subject.contact_id)
        .correlate_except(Contact)
        .scalar_subquery()
    )


# --- pre-filters (speed only; each is implied by a rule's criteria) -------------------------


def _recent_email_links(link: Any, key: str, c: Ctx, days: int, *, replies: bool) -> Any:
    """Records linked to an inbound email (or, with ``replies``, a reply) in the last days.

    Uncorrelated: computed once per statement, walking the (kind, occurred_at) index.
    """
    a = shared_alias(Activity)
    since = c.now - timedelta(days=days)
    recent = and_(
        a.direction == EmailDirection.INCOMING, a.occurred_at >= since, a.occurred_at <= c.now
    )
    if replies:
        recent = or_(recent, and_(a.replied_at >= since, a.replied_at <= c.now))
    return (
        select(getattr(link, key))
        .select_from(link.table)
        .join(a.table, a.id == link.activity_id)
        .where(a.kind == ActivityKind.EMAIL, recent)
        .correlate(None)
    )


def contact_emailed_recently(days: int, *, replies: bool = False) -> Callable[[Ctx], Any]:
    def sql(c: Ctx) -> ColumnElement[bool]:
        ac = shared_alias(ActivityContact)
        links = _recent_email_links(ac, "contact_id", c, days, replies=replies)
        emailed: ColumnElement[bool] = c.subject.id.in_(links)
        return emailed

    return sql


def lead_emailed_recently(days: int) -> Callable[[Ctx], Any]:
    def sql(c: Ctx) -> ColumnElement[bool]:
        al, ac = shared_alias(ActivityLead), shared_alias(ActivityContact)
        return or_(
            c.subject.id.in_(_recent_email_links(al, "lead_id", c, days, replies=False)),
            c.subject.contact_id.in_(_recent_email_links(ac, "contact_id", c, days, replies=False)),
        )

    return sql


def deal_buyer_emailed_recently(days: int) -> Callable[[Ctx], Any]:
    def sql(c: Ctx) -> ColumnElement[bool]:
        ac = shared_alias(ActivityContact)
        dc = shared_alias(DealContact)
        contacts = _recent_email_links(ac, "contact_id", c, days, replies=True)
        emailed: ColumnElement[bool] = c.subject.id.in_(
            select(dc.deal_id).where(dc.contact_id.in_(contacts)).correlate(None)
        )
        return emailed

    return sql


# --- activity subjects ------------------------------------------------------------------------


def ended_at_least_ago(hours: int) -> Condition:
    span = timedelta(hours=hours)
    return Condition(
        f"ended_at_least_{hours}h_ago",
        f"at least {hours} hour(s) since its end",
        lambda c: c.subject.ends_at <= c.now - span,
    )


def ended_less_than_days_ago(days: int) -> Condition:
    span = timedelta(days=days)
    return Condition(
        f"ended_less_than_{days}_days_ago",
        f"its end less than {days} days ago",
        lambda c: c.subject.ends_at > c.now - span,
        deadline=lambda record, _created: record.ends_at + span if record.ends_at else None,
    )


def started_less_than_days_ago(days: int) -> Condition:
    span = timedelta(days=days)
    return Condition(
        f"started_less_than_{days}_days_ago",
        f"it started less than {days} days ago",
        lambda c: c.subject.starts_at > c.now - span,
        deadline=lambda record, _created: record.starts_at + span if record.starts_at else None,
    )


def meeting_outcome_unset() -> Condition:
    return Condition(
        "outcome_unset",
        'its outcome is unset or "Scheduled"',
        lambda c: or_(
            c.subject.outcome.is_(None),
            c.subject.outcome == "",
            c.subject.outcome == MeetingOutcome.SCHEDULED.value,
        ),
    )


def call_status_completed_or_empty() -> Condition:
    def sql(c: Ctx) -> ColumnElement[bool]:
        a = c.subject
        return or_(
            and_(a.via_calling_feature.is_(True), a.call_status == CallStatus.COMPLETED),
            and_(
                or_(a.via_calling_feature.is_(None), a.via_calling_feature.is_(False)),
                or_(a.call_status.is_(None), a.call_status == CallStatus.COMPLETED),
            ),
        )

    return Condition(
        "status_completed",
        "status is Completed (built-in calling), or Completed or empty (logged otherwise)",
        sql,
    )


def call_outcome_empty() -> Condition:
    return Condition(
        "outcome_empty",
        "its outcome is empty",
        lambda c: or_(c.subject.outcome.is_(None), c.subject.outcome == ""),
    )


def task_open() -> Condition:
    return Condition(
        "task_open",
        "the task is open, not completed",
        lambda c: and_(
            c.subject.status.in_([s.value for s in OPEN_TASK_STATUSES]),
            c.subject.status != TaskStatus.COMPLETED,
        ),
    )


def sequence_task() -> Condition:
    return Condition(
        "sequence_task",
        "the task was created by a sequence",
        lambda c: c.subject.sequence_enrollment_id.is_not(None),
    )


def high_priority() -> Condition:
    return Condition(
        "high_priority",
        "the task is high priority",
        lambda c: c.subject.priority == TaskPriority.HIGH,
    )


def due_today() -> Condition:
    def sql(c: Ctx) -> ColumnElement[bool]:
        due = c.subject.due_at
        return and_(
            # The same test for every zone at once first, so an index can narrow it.
            due >= c.days.earliest_start,
            due < c.days.latest_end,
            due >= _your_day(c, 0),
            due < _your_day(c, 1),
        )

    return Condition("due_today", "it is due today in your time zone", sql)


def starts_later_today() -> Condition:
    def sql(c: Ctx) -> ColumnElement[bool]:
        start = c.subject.starts_at
        return and_(start > c.now, start < c.days.latest_end, start < _your_day(c, 1))

    return Condition("starts_later_today", "it starts later today in your time zone", sql)


# --- snapshots: the contact and company an action stays linked to ----------------------------


def snapshot(subject: Subject, entity: Any) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """SQL for the (contact id, company id) an item is linked to at creation."""
    if subject is Subject.CONTACT:
        return entity.id, entity.company_id
    if subject is Subject.LEAD:
        contact_company = (
            select(Contact.company_id)
            .where(Contact.id == entity.contact_id)
            .correlate_except(Contact)
            .scalar_subquery()
        )
        return entity.contact_id, func.coalesce(entity.company_id, contact_company)
    if subject is Subject.DEAL:
        dc = shared_alias(DealContact)
        contact = (
            select(func.min(dc.contact_id))
            .where(dc.deal_id == entity.id)
            .correlate_except(dc.table)
            .scalar_subquery()
        )
        return contact, entity.company_id
    ac, aco = shared_alias(ActivityContact), shared_alias(ActivityCompany)
    contact = (
        select(func.min(ac.contact_id))
        .where(ac.activity_id == entity.id)
        .correlate_except(ac.table)
        .scalar_subquery()
    )
    company = (
        select(func.min(aco.company_id))
        .where(aco.activity_id == entity.id)
        .correlate_except(aco.table)
        .scalar_subquery()
    )
    contacts_company = (
        select(func.min(Contact.company_id))
        .join(ac.table, ac.contact_id == Contact.id)
        .where(ac.activity_id == entity.id)
        .correlate_except(Contact, ac.table)
        .scalar_subquery()
    )
    return contact, func.coalesce(company, contacts_company)


def activity_category(entity: Any) -> ColumnElement[str]:
    """Meetings, calls and tasks go where their links put them [choice]."""
    ad, ac, al = (
        shared_alias(ActivityDeal),
        shared_alias(ActivityContact),
        shared_alias(ActivityLead),
    )
    return case(
        (
            exists(select(1).where(ad.activity_id == entity.id).correlate_except(ad.table)),
            "closing",
        ),
        (
            or_(
                exists(select(1).where(ac.activity_id == entity.id).correlate_except(ac.table)),
                exists(select(1).where(al.activity_id == entity.id).correlate_except(al.table)),
            ),
            "prospecting",
        ),
        else_="all",
    )


# (kinds, column) pairs whose time is an engagement (``engaged_at``), each indexed.
_ENGAGEMENT_TIMES: tuple[tuple[tuple[ActivityKind, ...], str], ...] = (
    ((ActivityKind.EMAIL,), "occurred_at"),
    ((ActivityKind.EMAIL,), "replied_at"),
    ((ActivityKind.EMAIL,), "clicked_at"),
    ((ActivityKind.EMAIL,), "opened_at"),
    ((ActivityKind.MEETING, ActivityKind.CALL), "ends_at"),
    ((ActivityKind.CALL,), "starts_at"),
)


def _recently_engaged_links(link: Any, key: str, c: Ctx, days: int) -> Any:
    """Records linked to an activity with an engagement time in the last ``days``: a superset
    of those that engaged (every time ``engaged_at`` can take), one index range each."""
    a = shared_alias(Activity)
    since = c.now - timedelta(days=days)
    parts = [
        select(getattr(link, key))
        .select_from(link.table)
        .join(a.table, a.id == link.activity_id)
        .where(a.kind.in_(kinds), getattr(a, column) >= since, getattr(a, column) <= c.now)
        .correlate(None)
        for kinds, column in _ENGAGEMENT_TIMES
    ]
    return union(*parts)


def contact_engaged_recently(days: int) -> Callable[[Ctx], Any]:
    def sql(c: Ctx) -> ColumnElement[bool]:
        ac = shared_alias(ActivityContact)
        engaged: ColumnElement[bool] = c.subject.id.in_(
            _recently_engaged_links(ac, "contact_id", c, days)
        )
        return engaged

    return sql


def lead_engaged_recently(days: int) -> Callable[[Ctx], Any]:
    def sql(c: Ctx) -> ColumnElement[bool]:
        al, ac = shared_alias(ActivityLead), shared_alias(ActivityContact)
        return or_(
            c.subject.id.in_(_recently_engaged_links(al, "lead_id", c, days)),
            c.subject.contact_id.in_(_recently_engaged_links(ac, "contact_id", c, days)),
        )

    return sql
