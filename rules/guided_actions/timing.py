"""When time alone changes a guided action, and evaluating only what such an instant touches.

Every time-dependent condition of the 19 rules compares a timestamp with ``now`` plus or
minus a fixed span ("at least 1 h since its end", "the action is 30 days old", "due today in
your time zone"). So the instants at which a rule's answer for a record can change with no
data change are known in advance: a timestamp column plus an offset, or a local midnight.
Each rule lists them here as *boundaries*.

``evaluate_due(session, since=t0, now=t1)`` finds, per rule, the records with a boundary in
``[t0, t1]`` (index range scans, no full pass) and the users whose local midnight fell in
it, and evaluates only those. Both ends are inclusive: a strict condition ("more than 7 days")
flips just after its boundary, so a boundary exactly at ``t1`` is looked at again in the
next window; evaluating a record twice changes nothing.

Data changes are not boundaries: the change-driven path (``evaluate(object_refs=...)``)
handles them. A boundary list that forgets a condition makes an action late; the tests and
``python -m bench rules --day`` check every window against a full pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.orm import Session

from rules.clock import day_range, local_date, parse_zone
from rules.guided_actions.catalog import RULES
from rules.guided_actions.engine import EvaluationReport, evaluate, prepare, run_rule
from rules.guided_actions.model import ActionType, Rule, Subject
from storage.models import (
    ActionClock,
    ActionState,
    Activity,
    ActivityContact,
    ActivityDeal,
    ActivityKind,
    ActivityLead,
    Contact,
    Deal,
    DealContact,
    GuidedActionItem,
    Lead,
    User,
    UserPreferences,
)
from storage.types import utc

# (record id, timestamp) pairs: the rule's subject records with ``timestamp + offset`` in a
# window [start, end].
Finder = Callable[[datetime, datetime], list[Select[Any, Any]]]

EMAIL = (ActivityKind.EMAIL,)
ALL_KINDS = tuple(ActivityKind)


@dataclass(frozen=True)
class Boundary:
    """Instants ``timestamp + offset`` at which a rule's answer may change by time alone.

    Attributes:
        key: names the timestamp and offset, for reading and for the benchmark.
        offset: added to the timestamp.
        records: (record id, timestamp) of the subject records with an instant in a window.
    """

    key: str
    offset: timedelta
    records: Finder


def _between(
    column: Any, start: datetime, end: datetime, offset: timedelta
) -> list[ColumnElement[bool]]:
    """``column + offset`` in [start, end], written so an index on ``column`` serves it."""
    return [column >= start - offset, column <= end - offset]


def own(model: Any, column: str, offset: timedelta, kind: ActivityKind | None = None) -> Boundary:
    """A timestamp of the record itself, e.g. a meeting's end + 1 h."""

    def records(start: datetime, end: datetime) -> list[Select[Any, Any]]:
        value = getattr(model, column)
        query = select(model.id, value).where(*_between(value, start, end, offset))
        if kind is not None:
            query = query.where(Activity.kind == kind)
        return [query]

    return Boundary(f"{column}+{_span(offset)}", offset, records)


def activity(
    subject: Subject | str,
    column: str,
    offset: timedelta,
    kinds: Sequence[ActivityKind] = EMAIL,
) -> Boundary:
    """A timestamp of an activity linked to the record, e.g. a contact's reply + 14 days."""

    def records(start: datetime, end: datetime) -> list[Select[Any, Any]]:
        value = getattr(Activity, column)
        where = [Activity.kind.in_(kinds), *_between(value, start, end, offset)]
        return [path.where(*where) for path in _linked(subject, value)]

    return Boundary(f"activity.{column}+{_span(offset)}", offset, records)


def item_age(action_type: ActionType, offset: timedelta) -> Boundary:
    """The age of the rule's open items, e.g. "the action is 30 days old"."""
    item = GuidedActionItem

    def records(start: datetime, end: datetime) -> list[Select[Any, Any]]:
        query = select(item.object_id, item.created_at).where(
            item.action_type == action_type.value,
            item.state == ActionState.OPEN,
            *_between(item.created_at, start, end, offset),
        )
        return [query]

    return Boundary(f"item.created_at+{_span(offset)}", offset, records)


def _linked(subject: Subject | str, value: Any) -> list[Select[Any, Any]]:
    """Paths to (record id, ``value``) over the activities linked to each record."""
    ac = ActivityContact
    if subject == Subject.CONTACT:
        path: Select[Any, Any] = select(ac.contact_id, value).join(
            Activity, Activity.id == ac.activity_id
        )
        return [path]
    if subject == Subject.LEAD:
        # A lead's activities are its own and its contact's.
        return [
            select(ActivityLead.lead_id, value).join(
                Activity, Activity.id == ActivityLead.activity_id
            ),
            select(Lead.id, value)
            .join(ac, ac.contact_id == Lead.contact_id)
            .join(Activity, Activity.id == ac.activity_id),
        ]
    if subject == "deal_contacts":
        return [
            select(DealContact.deal_id, value)
            .join(ac, ac.contact_id == DealContact.contact_id)
            .join(Activity, Activity.id == ac.activity_id)
        ]
    if subject == Subject.DEAL:
        return [
            select(ActivityDeal.deal_id, value).join(
                Activity, Activity.id == ActivityDeal.activity_id
            )
        ]
    raise ValueError(f"no activity links for {subject!r}")


def _span(offset: timedelta) -> str:
    if offset % timedelta(days=1) == timedelta(0) and offset:
        return f"{offset.days}d"
    if offset % timedelta(hours=1) == timedelta(0) and offset:
        return f"{offset // timedelta(hours=1)}h"
    return f"{offset // timedelta(minutes=1)}min"


H, D, ZERO = timedelta(hours=1), timedelta(days=1), timedelta(0)
T = ActionType
C, L = Subject.CONTACT, Subject.LEAD
MEETING, CALL = ActivityKind.MEETING, ActivityKind.CALL


def _engagement(subject: Subject, offset: timedelta) -> tuple[Boundary, ...]:
    """Every timestamp ``predicates.engaged_at`` reads, at ``offset``."""
    return (
        activity(subject, "occurred_at", offset),
        activity(subject, "replied_at", offset),
        activity(subject, "clicked_at", offset),
        activity(subject, "opened_at", offset),
        activity(subject, "ends_at", offset, (MEETING, CALL)),
        activity(subject, "starts_at", offset, (CALL,)),
    )


def _emails(subject: Subject | str, *offsets: timedelta) -> tuple[Boundary, ...]:
    """Sent and received emails ("in the last N days", "sent by you by now")."""
    return tuple(activity(subject, "occurred_at", o) for o in offsets)


def _replies(subject: Subject | str, *offsets: timedelta) -> tuple[Boundary, ...]:
    return tuple(activity(subject, "replied_at", o) for o in offsets) + _emails(subject, *offsets)


# Per rule, every instant at which time alone may create or expire one of its items.
BOUNDARIES: dict[ActionType, tuple[Boundary, ...]] = {
    T.NEWLY_ASSIGNED_CONTACTS: (
        own(Contact, "owner_assigned_at", 30 * D),
        item_age(T.NEWLY_ASSIGNED_CONTACTS, 30 * D),
        *_emails(C, ZERO),
    ),
    T.NEWLY_ASSIGNED_LEADS: (
        own(Lead, "owner_assigned_at", 30 * D),
        item_age(T.NEWLY_ASSIGNED_LEADS, 30 * D),
    ),
    T.RE_ENGAGED_CONTACTS: (*_engagement(C, ZERO), *_engagement(C, 30 * D)),
    T.SEQUENCE_ACTIVITY: (),
    T.EMAIL_REPLIES: (*_replies(C, ZERO, 14 * D), item_age(T.EMAIL_REPLIES, 14 * D)),
    T.LOG_MEETING_OUTCOME: (
        own(Activity, "ends_at", H, MEETING),
        own(Activity, "ends_at", 7 * D, MEETING),
    ),
    T.FOLLOW_UP_MEETING: (
        own(Activity, "starts_at", ZERO, MEETING),
        own(Activity, "ends_at", 7 * D, MEETING),
    ),
    T.LOG_CALL_OUTCOME: (
        own(Activity, "starts_at", H, CALL),
        own(Activity, "starts_at", 7 * D, CALL),
    ),
    T.CONTACTS_AWAITING_REPLY: (
        *_emails(C, ZERO, 14 * D),
        item_age(T.CONTACTS_AWAITING_REPLY, 14 * D),
    ),
    T.REPLY_TO_EMAIL: (
        *_replies("deal_contacts", ZERO, 7 * D),
        item_age(T.REPLY_TO_EMAIL, 7 * D),
    ),
    T.LEADS_AWAITING_REPLY: (
        *_emails(L, ZERO, 14 * D),
        item_age(T.LEADS_AWAITING_REPLY, 14 * D),
    ),
    # "Later today" also turns true at each local midnight: LOCAL_DAY_RULES.
    T.PREPARE_FOR_MEETING: (
        own(Activity, "starts_at", ZERO, MEETING),
        own(Activity, "starts_at", timedelta(minutes=10), MEETING),
    ),
    T.HIGH_PRIORITY_TASKS_TODAY: (),
    T.TARGET_ACCOUNT_ACTIVITY: (*_engagement(C, ZERO), *_engagement(C, 7 * D)),
    T.RECENTLY_ENGAGED_LEADS: (*_engagement(L, ZERO), *_engagement(L, 7 * D)),
    T.UPDATE_NEXT_STEPS: (
        activity(Subject.DEAL, "completed_at", D, (ActivityKind.TASK,)),
        activity(Subject.DEAL, "ends_at", D, ALL_KINDS),
        activity(Subject.DEAL, "occurred_at", D, ALL_KINDS),
    ),
    T.ADD_CONTACT_TO_DEAL: (
        own(Deal, "created_at", 7 * D),
        item_age(T.ADD_CONTACT_TO_DEAL, 7 * D),
    ),
    T.INITIAL_OUTREACH: (
        own(Deal, "created_at", 7 * D),
        item_age(T.INITIAL_OUTREACH, 7 * D),
    ),
    T.FOLLOW_UP_WITH_BUYER: (
        activity("deal_contacts", "opened_at", 7 * D),
        *_replies("deal_contacts", ZERO),
        item_age(T.FOLLOW_UP_WITH_BUYER, 7 * D),
    ),
}

# Rules reading "today in your time zone": re-evaluated for a user at each local midnight.
LOCAL_DAY_RULES = frozenset({T.PREPARE_FOR_MEETING, T.HIGH_PRIORITY_TASKS_TODAY})


def due_records(
    session: Session, rule: Rule, start: datetime, end: datetime
) -> dict[int, datetime]:
    """The rule's subject records with a boundary in ``[start, end]``, each with its earliest
    such instant (the benchmark measures lateness against it)."""
    found: dict[int, datetime] = {}
    for boundary in BOUNDARIES[rule.type]:
        for query in boundary.records(start, end):
            for row in session.execute(query):
                record_id, value = row[0], row[1]
                if record_id is None or value is None:
                    continue
                instant = utc(value) + boundary.offset
                if record_id not in found or instant < found[record_id]:
                    found[record_id] = instant
    return found


def users_past_midnight(session: Session, start: datetime, end: datetime) -> list[int]:
    """Users for whom a local midnight fell in ``[start, end]`` (their zone, DST included;
    an unknown zone is UTC, as in the engine)."""
    rows = session.execute(
        select(User.id, User.timezone, UserPreferences.timezone_override).outerjoin(
            UserPreferences, UserPreferences.user_id == User.id
        )
    ).all()
    crossed: dict[str, bool] = {}
    found = []
    for user_id, zone, override in rows:
        name = override or zone or "UTC"
        if name not in crossed:
            crossed[name] = midnight_between(name, start, end)
        if crossed[name]:
            found.append(user_id)
    return found


def midnight_between(zone: str, start: datetime, end: datetime) -> bool:
    """Whether a local midnight of ``zone`` (unknown: UTC) lies in [start, end]."""
    tz = parse_zone(zone) or ZoneInfo("UTC")
    midnight = day_range(tz, local_date(tz, start)).start
    while midnight < start:
        midnight = day_range(tz, local_date(tz, midnight)).end
    return midnight <= end


def evaluate_due(
    session: Session,
    *,
    since: datetime,
    now: datetime,
    rules: Iterable[Rule] = RULES,
) -> EvaluationReport:
    """Evaluate, as of ``now``, only the records whose boundary lies in ``[since, now]``.

    Args:
        session: the unit of work (flushed, not committed).
        since: the end of the previous window (its ``now``).
        now: this window's end, the evaluation time.
        rules: which rules (default: all 19).

    Returns:
        The report; ``report.users`` are the users whose actions changed.
    """
    since, now = utc(since), utc(now)
    started = time.perf_counter()
    settings = prepare(session, now)
    report = EvaluationReport(now=now)
    midnight_users: list[int] | None = None
    for rule in rules:
        ids = set(due_records(session, rule, since, now))
        run = run_rule(session, rule, settings, ids=ids)
        if rule.type in LOCAL_DAY_RULES:
            if midnight_users is None:
                midnight_users = users_past_midnight(session, since, now)
            if midnight_users:
                by_day = run_rule(session, rule, settings, users=midnight_users)
                run.created += by_day.created
                run.expired += by_day.expired
                run.users |= by_day.users
                run.seconds += by_day.seconds
        report.runs.append(run)
    session.flush()
    report.seconds = time.perf_counter() - started
    return report


# A window longer than this (the service was down) is a repair: one full pass instead.
FULL_PASS_AFTER = timedelta(days=1)
# And a full pass this often regardless: it catches data written by a path that did not
# evaluate what it touched (a snapshot import, a future sync) within hours, not never.
REPAIR_EVERY = timedelta(hours=6)


@dataclass(frozen=True)
class Tick:
    """What one tick did: the window it evaluated and how (``full`` on first start/repair)."""

    since: datetime | None
    now: datetime
    full: bool
    report: EvaluationReport


def tick(session: Session, *, now: datetime) -> Tick | None:
    """Evaluate the window since the last tick, once across replicas; the caller commits.

    The window is claimed by moving ``guided_action_clock.evaluated_through`` from the value
    read to ``now`` (compare and set): a replica that loses the race gets None and does
    nothing, and a tick that fails rolls its claim back with its work. The first tick ever
    (no row), one after more than a day away, and one every ``REPAIR_EVERY`` run a full pass.

    Returns:
        What was evaluated, or None when another replica has the window (or it is empty).
    """
    now = utc(now)
    clock = session.get(ActionClock, 1)
    if clock is None:
        # Inserted first: a second replica's insert waits for this one and then fails on
        # the primary key, rolling back its whole transaction.
        session.add(ActionClock(id=1, evaluated_through=now, full_pass_at=now))
        session.flush()
        return Tick(since=None, now=now, full=True, report=evaluate(session, now=now))
    since = clock.evaluated_through
    if now <= since:
        return None
    last_full = clock.full_pass_at
    full = now - since > FULL_PASS_AFTER or last_full is None or now - last_full >= REPAIR_EVERY
    claimed = session.execute(
        update(ActionClock)
        .where(ActionClock.id == 1, ActionClock.evaluated_through == since)
        .values(evaluated_through=now, **({"full_pass_at": now} if full else {}))
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not claimed:
        return None
    report = evaluate(session, now=now) if full else evaluate_due(session, since=since, now=now)
    return Tick(since=since, now=now, full=full, report=report)


__all__ = [
    "BOUNDARIES",
    "FULL_PASS_AFTER",
    "LOCAL_DAY_RULES",
    "REPAIR_EVERY",
    "Boundary",
    "Tick",
    "due_records",
    "evaluate_due",
    "midnight_between",
    "tick",
    "users_past_midnight",
]
