"""The shape of a guided action rule: data, with small SQL predicates.

A rule names its subject (the kind of record it is about), its creation criteria (ALL must
hold), its expiry conditions (ANY ends it), its category, whether it bundles, its title and
call to action, and what identifies an *episode* (the situation that made it). Predicates are
small functions from a :class:`Ctx` to a SQL boolean, so the engine runs them set-based and
``explain`` runs exactly the same ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, case, false, true

from storage.models import Activity, ActivityKind, Contact, Deal, Lead
from storage.models.actions import ActionObject


class ActionType(StrEnum):
    """The 19 guided actions of the spec, in its order."""

    NEWLY_ASSIGNED_CONTACTS = "newly_assigned_contacts"
    NEWLY_ASSIGNED_LEADS = "newly_assigned_leads"
    RE_ENGAGED_CONTACTS = "re_engaged_contacts"
    SEQUENCE_ACTIVITY = "sequence_activity"
    EMAIL_REPLIES = "email_replies"
    LOG_MEETING_OUTCOME = "log_meeting_outcome"
    FOLLOW_UP_MEETING = "follow_up_meeting"
    LOG_CALL_OUTCOME = "log_call_outcome"
    CONTACTS_AWAITING_REPLY = "contacts_awaiting_reply"
    REPLY_TO_EMAIL = "reply_to_email"
    LEADS_AWAITING_REPLY = "leads_awaiting_reply"
    PREPARE_FOR_MEETING = "prepare_for_meeting"
    HIGH_PRIORITY_TASKS_TODAY = "high_priority_tasks_today"
    TARGET_ACCOUNT_ACTIVITY = "target_account_activity"
    RECENTLY_ENGAGED_LEADS = "recently_engaged_leads"
    UPDATE_NEXT_STEPS = "update_next_steps"
    ADD_CONTACT_TO_DEAL = "add_contact_to_deal"
    INITIAL_OUTREACH = "initial_outreach"
    FOLLOW_UP_WITH_BUYER = "follow_up_with_buyer"


class Category(StrEnum):
    CLOSING = "closing"
    PROSPECTING = "prospecting"
    ALL = "all"


class Subject(StrEnum):
    """The kind of record a rule is about; meetings, calls and tasks are activities."""

    CONTACT = "contact"
    LEAD = "lead"
    DEAL = "deal"
    MEETING = "meeting"
    CALL = "call"
    TASK = "task"

    @property
    def entity(self) -> Any:
        return _ENTITIES[self]

    @property
    def activity_kind(self) -> ActivityKind | None:
        return _KINDS.get(self)

    @property
    def object_type(self) -> ActionObject:
        return ActionObject(self.value)


_ENTITIES: dict[Subject, Any] = {
    Subject.CONTACT: Contact,
    Subject.LEAD: Lead,
    Subject.DEAL: Deal,
    Subject.MEETING: Activity,
    Subject.CALL: Activity,
    Subject.TASK: Activity,
}
_KINDS = {
    Subject.MEETING: ActivityKind.MEETING,
    Subject.CALL: ActivityKind.CALL,
    Subject.TASK: ActivityKind.TASK,
}


class Alias:
    """A table alias with ORM-style attribute access (``a.kind``); use :func:`shared_alias`.

    ORM ``aliased()`` adapts every column it touches, and every new alias copies all columns,
    which made building the 19 rules' SQL cost more than running it on a small database.
    One alias per table, shared by all subqueries, is safe because each subquery lists it in
    ``correlate_except`` (its own scope) and no subquery reaches an outer alias of its table.
    """

    def __init__(self, model: Any, name: str | None = None) -> None:
        self.table = model.__table__.alias(name)

    def __clause_element__(self) -> Any:
        return self.table

    def __getattr__(self, name: str) -> Any:
        return self.table.c[name]


@cache
def shared_alias(model: Any) -> Alias:
    return Alias(model)


@cache
def you_row() -> Alias:
    """The ``users`` row of "you", joined once into each rule's statement (by the engine and
    ``explain``), so predicates read your email, domain and zone without a lookup per row."""
    from storage.models import User

    return Alias(User, "you")


@dataclass(frozen=True)
class DayBounds:
    """Start and end (UTC) of "today" in each time zone the users live in."""

    by_zone: dict[str, tuple[datetime, datetime]]
    default: tuple[datetime, datetime]

    @property
    def earliest_start(self) -> datetime:
        return min([self.default[0], *(b[0] for b in self.by_zone.values())])

    @property
    def latest_end(self) -> datetime:
        return max([self.default[1], *(b[1] for b in self.by_zone.values())])


@dataclass(frozen=True)
class Ctx:
    """What a predicate may refer to.

    Attributes:
        subject: the ORM entity of the rule's subject (``Contact``, ``Deal``, ``Activity``...).
        you: SQL for the user the action is for: the subject's owner when creating, the
            item's user when checking expiry.
        now: the evaluation time (aware, UTC).
        created_at: SQL for the action's creation time (``now`` when creating).
        late_stages: lifecycle stages that count as "already a customer" (rule 1).
        days: today's bounds per time zone (rules 12 and 13).
    """

    subject: Any
    you: ColumnElement[Any]
    now: datetime
    created_at: ColumnElement[Any]
    late_stages: tuple[str, ...]
    days: DayBounds


Predicate = Callable[[Ctx], ColumnElement[bool]]
# When a condition will stop (criterion) or start (expiry) holding by time alone, computed
# from the loaded record and the item's creation time; None when it does not depend on time.
Deadline = Callable[[Any, datetime], datetime | None]


@dataclass(frozen=True)
class Condition:
    """A named predicate: a creation criterion or an expiry condition.

    ``creation_only``: a criterion that only gates creation; its stopping is no expiry even
    under ``expires_when_criteria_stop`` (rule 1's "assigned less than 30 days ago" must not
    end an action before the action itself is 30 days old).
    """

    key: str
    text: str
    sql: Predicate
    deadline: Deadline | None = None
    creation_only: bool = False


@dataclass(frozen=True)
class Rule:
    """One guided action, readable on one screen.

    Attributes:
        number: its number in the spec's table (1-19).
        type: its stable name.
        subject: the kind of record it is about (its primary object).
        category: closing / prospecting / all.
        bundled: one action per user with one item per record, instead of one per record.
        title: for one record, formatted with ``{label}``; for a bundle, with ``{count}``.
        call_to_action: the primary link's text.
        criteria: creation criteria, ALL must hold.
        expiry: expiry conditions, ANY ends the action.
        expires_when_criteria_stop: "any creation criterion stops holding" is an expiry
            (except the ``creation_only`` ones).
        episode: SQL text identifying the situation; an item never comes back for the same
            user, record and episode. None: the record itself is the situation.
        narrow: an optional pre-filter implied by the criteria, for speed only.
    """

    number: int
    type: ActionType
    subject: Subject
    category: Category
    bundled: bool
    title: str
    call_to_action: str
    criteria: tuple[Condition, ...]
    expiry: tuple[Condition, ...] = ()
    expires_when_criteria_stop: bool = False
    episode: Callable[[Ctx], ColumnElement[str]] | None = None
    # Speed only: an index-friendly filter that every record meeting the criteria passes
    # (e.g. "has an email in the last 14 days"), so the engine need not test every record.
    narrow: Predicate | None = None

    def all_expiry(self) -> tuple[Condition, ...]:
        """Expiry conditions, then "a criterion stops holding" spelled out per criterion.

        The order decides which condition is reported when several hold at once.
        """
        stopped: tuple[Condition, ...] = ()
        if self.expires_when_criteria_stop:
            stopped = tuple(_negated(c) for c in self.criteria if not c.creation_only)
        return self.expiry + stopped


def _negated(criterion: Condition) -> Condition:
    def sql(ctx: Ctx) -> ColumnElement[bool]:
        # predicates.does_not_hold, spelled out: the model does not import the predicates
        # built on it (NOT, with an unknown counting as "does not hold").
        return case((criterion.sql(ctx), false()), else_=true())

    return Condition(
        key=f"no_longer:{criterion.key}",
        text=f"no longer: {criterion.text}",
        sql=sql,
        deadline=criterion.deadline,
    )
