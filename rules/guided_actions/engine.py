"""Evaluating the rules set-based: expire what ended, create what arose, for many at once.

Per rule, two statements do the work: one finds every open item whose expiry holds (with the
first condition that holds, in the rule's order), one finds every record where all creation
criteria hold and nothing blocks it (an open item, or an earlier item for the same episode).
Both can be narrowed to some users or to the records one change touched.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    case,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from rules.clock import day_range, local_date, parse_zone
from rules.guided_actions import predicates as p
from rules.guided_actions.catalog import RULES
from rules.guided_actions.model import (
    ActionType,
    Category,
    Ctx,
    DayBounds,
    Rule,
    Subject,
    shared_alias,
    you_row,
)
from storage.models import (
    ActionState,
    Activity,
    ActivityContact,
    ActivityDeal,
    ActivityKind,
    ActivityLead,
    DealContact,
    GuidedAction,
    GuidedActionItem,
    Lead,
    User,
    UserPreferences,
    WorkspaceSettings,
)
from storage.types import utc

DEFAULT_LATE_STAGES = ("customer", "evangelist")
NO_EPISODE = "-"
OBJECT_DELETED = "object_deleted"
NO_OPEN_ITEMS = "no_open_items"
REANALYZE_AFTER = 2000


class RefKind(StrEnum):
    CONTACT = "contact"
    LEAD = "lead"
    DEAL = "deal"
    ACTIVITY = "activity"


@dataclass(frozen=True)
class ObjectRef:
    """A record that changed: re-evaluation looks only at what it can affect."""

    kind: RefKind
    id: int


@dataclass
class RuleRun:
    type: ActionType
    created: int = 0
    expired: int = 0
    seconds: float = 0.0
    # Whose actions changed: their Home tabs and nudges need to know.
    users: set[int] = field(default_factory=set)


@dataclass
class EvaluationReport:
    now: datetime
    runs: list[RuleRun] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def created(self) -> int:
        return sum(run.created for run in self.runs)

    @property
    def expired(self) -> int:
        return sum(run.expired for run in self.runs)

    @property
    def users(self) -> set[int]:
        """The users whose open actions were created or expired."""
        return set().union(*(run.users for run in self.runs))


def evaluate(
    session: Session,
    *,
    now: datetime,
    user_ids: Iterable[int] | None = None,
    object_refs: Iterable[ObjectRef] | None = None,
    rules: Sequence[Rule] = RULES,
) -> EvaluationReport:
    """Bring the stored actions up to date as of ``now``; the caller commits.

    Args:
        session: the unit of work (flushed, not committed).
        now: evaluation time, timezone-aware.
        user_ids: only actions for these users (None: everyone).
        object_refs: only what these changed records can affect (None: everything).
        rules: which rules to run (default: all 19).

    Returns:
        Counts of created and expired items per rule, with timings.
    """
    now = utc(now)
    started = time.perf_counter()
    users = None if user_ids is None else sorted(set(user_ids))
    scope = None if object_refs is None else affected_records(session, list(object_refs))
    settings = prepare(session, now)
    report = EvaluationReport(now=now)
    # Narrowed to a few records: one query says which types have open items there at all,
    # so the others skip their expiry statement.
    open_types = None if scope is None else _open_types(session, scope, users)
    kinds = None if scope is None else _activity_kinds(session, scope[RefKind.ACTIVITY])
    for rule in rules:
        ids = None if scope is None else scope.get(_scope_key(rule.subject), set())
        kind = rule.subject.activity_kind
        open_here = open_types is not None and rule.type.value in open_types
        if ids and kinds is not None and kind is not None and kind not in kinds and not open_here:
            ids = set()  # an email changed: the meeting, call and task rules cannot care
        expire = open_types is None or rule.type.value in open_types
        report.runs.append(run_rule(session, rule, settings, users=users, ids=ids, expire=expire))
    session.flush()
    report.seconds = time.perf_counter() - started
    return report


def prepare(session: Session, now: datetime) -> EngineSettings:
    """What every rule's statements need as of ``now``; on PostgreSQL, JIT off first."""
    if session.get_bind().dialect.name == "postgresql":
        # JIT-compiling these wide statements took seconds and saved nothing (for this
        # transaction only).
        session.execute(text("SET LOCAL jit = off"))
    return EngineSettings.load(session, utc(now))


def run_rule(
    session: Session,
    rule: Rule,
    settings: EngineSettings,
    *,
    users: list[int] | None = None,
    ids: set[int] | None = None,
    expire: bool = True,
) -> RuleRun:
    """Expire, then create, one rule's items for some users and/or records (None: all).

    An empty ``ids`` set means "no record": nothing runs.
    """
    started = time.perf_counter()
    run = RuleRun(type=rule.type)
    if ids is None or ids:
        if expire:
            run.expired = _expire(session, rule, settings, users, ids, run.users)
        run.created = _create(session, rule, settings, users, ids, run.users)
        postgres = session.get_bind().dialect.name == "postgresql"
        if postgres and run.created >= REANALYZE_AFTER:
            # The planner's idea of the action tables is from before this burst of
            # inserts; with it the next rules' NOT EXISTS checks became scans.
            session.execute(text("ANALYZE guided_action_items"))
            session.execute(text("ANALYZE guided_actions"))
    run.seconds = time.perf_counter() - started
    return run


@dataclass(frozen=True)
class EngineSettings:
    now: datetime
    late_stages: tuple[str, ...]
    days: DayBounds

    @classmethod
    def load(cls, session: Session, now: datetime) -> EngineSettings:
        row = session.get(WorkspaceSettings, 1)
        late = tuple(s.lower() for s in (row.late_lifecycle_stages if row else DEFAULT_LATE_STAGES))
        zones = set(session.scalars(select(User.timezone).distinct()))
        zones |= set(
            session.scalars(
                select(UserPreferences.timezone_override)
                .where(UserPreferences.timezone_override.is_not(None))
                .distinct()
            )
        )
        by_zone = {}
        for zone in zones:
            bounds = local_day(now, zone)
            if bounds is not None:
                by_zone[zone] = bounds
        default = local_day(now, "UTC")
        assert default is not None
        return cls(now=now, late_stages=late, days=DayBounds(by_zone=by_zone, default=default))

    def ctx(self, subject: Any, *, you: Any, created_at: Any) -> Ctx:
        return Ctx(
            subject=subject,
            you=you,
            now=self.now,
            created_at=created_at,
            late_stages=self.late_stages,
            days=self.days,
        )

    def creation_ctx(self, rule: Rule) -> Ctx:
        entity = rule.subject.entity
        return self.ctx(entity, you=entity.owner_id, created_at=p.at(self.now))

    def expiry_ctx(self, rule: Rule) -> Ctx:
        return self.ctx(
            rule.subject.entity,
            you=GuidedActionItem.user_id,
            created_at=GuidedActionItem.created_at,
        )


def local_day(now: datetime, zone: str | None) -> tuple[datetime, datetime] | None:
    """Start and end (UTC) of the calendar day containing ``now`` in ``zone``; None if unknown.

    Days run from local midnight to local midnight (rules.clock), so a daylight-saving day is
    23 or 25 hours long.
    """
    tz = parse_zone(zone)
    if tz is None:
        return None
    day = day_range(tz, local_date(tz, now))
    return day.start, day.end


# --- scope ---------------------------------------------------------------------------------


def _scope_key(subject: Subject) -> RefKind:
    if subject.activity_kind is not None:
        return RefKind.ACTIVITY
    return RefKind(subject.value)


def affected_records(session: Session, refs: list[ObjectRef]) -> dict[RefKind, set[int]]:
    """The records whose rules a change to ``refs`` can affect, one step out, no further.

    - a contact: itself, its leads (rules 2, 11, 15 read the lead's contact) and its deals
      (10, 19 read the deal's contacts);
    - a lead: itself and its contact (rules 3 and 9 read the contact's leads);
    - a deal: itself and its contacts (rule 1: "not associated with a deal");
    - an activity: itself, the meeting it follows up (rule 7), its contacts, leads and deals,
      and the leads and deals of its contacts (whose rules read their contacts' emails).
    """
    found: dict[RefKind, set[int]] = {kind: set() for kind in RefKind}
    by_kind: dict[RefKind, list[int]] = {kind: [] for kind in RefKind}
    for ref in refs:
        found[ref.kind].add(ref.id)
        by_kind[ref.kind].append(ref.id)

    def ids_of(query: Any) -> set[int]:
        return {i for i in session.scalars(query) if i is not None}

    contacts_of_change: set[int] = set(by_kind[RefKind.CONTACT])
    if by_kind[RefKind.ACTIVITY]:
        ids = by_kind[RefKind.ACTIVITY]
        found[RefKind.ACTIVITY] |= ids_of(
            select(Activity.follow_up_of_id).where(Activity.id.in_(ids))
        )
        linked = ids_of(
            select(ActivityContact.contact_id).where(ActivityContact.activity_id.in_(ids))
        )
        found[RefKind.CONTACT] |= linked
        contacts_of_change |= linked
        found[RefKind.LEAD] |= ids_of(
            select(ActivityLead.lead_id).where(ActivityLead.activity_id.in_(ids))
        )
        found[RefKind.DEAL] |= ids_of(
            select(ActivityDeal.deal_id).where(ActivityDeal.activity_id.in_(ids))
        )
    if contacts_of_change:
        ids = sorted(contacts_of_change)
        found[RefKind.LEAD] |= ids_of(select(Lead.id).where(Lead.contact_id.in_(ids)))
        found[RefKind.DEAL] |= ids_of(
            select(DealContact.deal_id).where(DealContact.contact_id.in_(ids))
        )
    if by_kind[RefKind.LEAD]:
        found[RefKind.CONTACT] |= ids_of(
            select(Lead.contact_id).where(Lead.id.in_(by_kind[RefKind.LEAD]))
        )
    if by_kind[RefKind.DEAL]:
        found[RefKind.CONTACT] |= ids_of(
            select(DealContact.contact_id).where(DealContact.deal_id.in_(by_kind[RefKind.DEAL]))
        )
    return found


def _activity_kinds(session: Session, ids: set[int]) -> set[ActivityKind] | None:
    """The kinds of the activities in scope; None when one is gone (its items must expire)."""
    if not ids:
        return set()
    rows = session.execute(select(Activity.id, Activity.kind).where(Activity.id.in_(sorted(ids))))
    found = {activity_id: kind for activity_id, kind in rows}
    return set(found.values()) if len(found) == len(ids) else None


def _open_types(
    session: Session, scope: dict[RefKind, set[int]], users: list[int] | None
) -> set[str]:
    # Ids of different kinds may collide: a superset of types, which is safe.
    ids = sorted(set().union(*scope.values()))
    if not ids:
        return set()
    query = select(GuidedActionItem.action_type).where(
        GuidedActionItem.state == ActionState.OPEN, GuidedActionItem.object_id.in_(ids)
    )
    if users is not None:
        query = query.where(GuidedActionItem.user_id.in_(users))
    return set(session.scalars(query.distinct()))


# --- expiry ----------------------------------------------------------------------------------


def _expire(
    session: Session,
    rule: Rule,
    settings: EngineSettings,
    users: list[int] | None,
    ids: set[int] | None,
    touched: set[int],
) -> int:
    item = GuidedActionItem
    entity = rule.subject.entity
    ctx = settings.expiry_ctx(rule)
    base = [item.action_type == rule.type.value, item.state == ActionState.OPEN]
    if users is not None:
        base.append(item.user_id.in_(users))
    if ids is not None:
        base.append(item.object_id.in_(sorted(ids)))

    # One statement: a record that is gone (outer join finds nothing) comes first.
    reason = case(
        (entity.id.is_(None), OBJECT_DELETED),
        *[(cond.sql(ctx), cond.key) for cond in rule.all_expiry()],
        else_=null(),
    )
    found = session.execute(
        select(item.id, item.action_id, reason.label("reason"), item.user_id)
        .select_from(item)
        .outerjoin(entity, entity.id == item.object_id)
        .join(you_row().table, you_row().id == item.user_id)
        .where(*base, reason.is_not(None))
    ).all()
    rows = [(r[0], r[1], r[2]) for r in found]
    if not rows:
        return 0
    touched.update(r[3] for r in found)
    session.execute(
        update(GuidedActionItem),
        [
            {"id": i, "state": ActionState.EXPIRED, "closed_at": settings.now, "closed_reason": r}
            for i, _a, r in rows
        ],
    )
    _close_emptied_actions(session, rule, {a: r for _i, a, r in rows}, settings.now)
    return len(rows)


def _close_emptied_actions(
    session: Session, rule: Rule, reasons: dict[int, str], now: datetime
) -> None:
    """An action whose last open item expired expires too (a bundle: "no open items")."""
    action_ids = sorted(reasons)
    still_open = set()
    for chunk in _chunks(action_ids):
        still_open |= set(
            session.scalars(
                select(GuidedActionItem.action_id)
                .where(
                    GuidedActionItem.action_id.in_(chunk),
                    GuidedActionItem.state == ActionState.OPEN,
                )
                .distinct()
            )
        )
    emptied = [a for a in action_ids if a not in still_open]
    if not emptied:
        return
    session.execute(
        update(GuidedAction),
        [
            {
                "id": a,
                "state": ActionState.EXPIRED,
                "closed_at": now,
                "expired_condition": NO_OPEN_ITEMS if rule.bundled else reasons[a],
            }
            for a in emptied
        ],
    )


# --- creation --------------------------------------------------------------------------------


def creation_query(
    rule: Rule,
    settings: EngineSettings,
    users: list[int] | None = None,
    ids: set[int] | None = None,
) -> Any:
    """Records where all criteria hold, nothing blocks a new item, and no expiry holds."""
    entity = rule.subject.entity
    ctx = settings.creation_ctx(rule)
    episode = func.coalesce(rule.episode(ctx), NO_EPISODE) if rule.episode else literal(NO_EPISODE)
    contact, company = p.snapshot(rule.subject, entity)
    category: ColumnElement[Any] = literal(rule.category.value)
    activity_based = rule.subject.activity_kind is not None
    if activity_based and not rule.bundled and rule.category is Category.ALL:
        category = p.activity_category(entity)

    base: list[ColumnElement[bool]] = [entity.owner_id.is_not(None)]
    if rule.subject.activity_kind is not None:
        base.append(entity.kind == rule.subject.activity_kind)
    if users is not None:
        base.append(entity.owner_id.in_(users))
    if ids is not None:
        base.append(entity.id.in_(sorted(ids)))
    criteria = [c.sql(ctx) for c in rule.criteria]
    if rule.narrow is not None and ids is None:
        # Worth it over everything; for a few records it would only add a scan.
        base.append(rule.narrow(ctx))
    # Never create what would expire at once (e.g. follow-ups already completed).
    not_expired = [p.does_not_hold(e.sql(ctx)) for e in rule.expiry]
    prior = shared_alias(GuidedActionItem)
    not_blocked = ~exists(
        select(1).where(
            prior.action_type == rule.type.value,
            prior.object_id == entity.id,
            prior.user_id == entity.owner_id,
            or_(prior.state == ActionState.OPEN, prior.episode == episode),
        )
    )
    return (
        select(
            entity.id.label("object_id"),
            entity.owner_id.label("user_id"),
            episode.label("episode"),
            contact.label("contact_id"),
            company.label("company_id"),
            category.label("category"),
        )
        .select_from(entity)
        .join(you_row().table, you_row().id == entity.owner_id)
        .where(*base, *criteria, *not_expired, not_blocked)
    )


def _create(
    session: Session,
    rule: Rule,
    settings: EngineSettings,
    users: list[int] | None,
    ids: set[int] | None,
    touched: set[int],
) -> int:
    found = session.execute(creation_query(rule, settings, users, ids)).mappings().all()
    if not found:
        return 0
    # Items in record order, whatever plan the database chose (a bundle lists them so).
    rows = sorted(found, key=lambda r: r["object_id"])
    touched.update(r["user_id"] for r in rows)
    now = settings.now
    object_type = rule.subject.object_type
    if rule.bundled:
        action_of_user = _open_bundles(session, rule, {r["user_id"] for r in rows})
        missing = sorted({r["user_id"] for r in rows} - set(action_of_user))
        first_row: dict[int, Any] = {}
        for r in rows:
            first_row.setdefault(r["user_id"], r)
        if missing:
            new_ids = session.scalars(
                insert(GuidedAction).returning(GuidedAction.id, sort_by_parameter_order=True),
                [
                    {
                        "action_type": rule.type.value,
                        "user_id": u,
                        "category": rule.category.value,
                        "bundled": True,
                        "state": ActionState.OPEN,
                        "created_at": now,
                        "object_type": object_type,
                        "object_id": None,
                        "contact_id": first_row[u]["contact_id"],
                        "company_id": first_row[u]["company_id"],
                    }
                    for u in missing
                ],
            ).all()
            action_of_user.update(zip(missing, new_ids, strict=True))
        action_ids = [action_of_user[r["user_id"]] for r in rows]
    else:
        action_ids = list(
            session.scalars(
                insert(GuidedAction).returning(GuidedAction.id, sort_by_parameter_order=True),
                [
                    {
                        "action_type": rule.type.value,
                        "user_id": r["user_id"],
                        "category": r["category"],
                        "bundled": False,
                        "state": ActionState.OPEN,
                        "created_at": now,
                        "object_type": object_type,
                        "object_id": r["object_id"],
                        "contact_id": r["contact_id"],
                        "company_id": r["company_id"],
                    }
                    for r in rows
                ],
            ).all()
        )
    session.execute(
        insert(GuidedActionItem),
        [
            {
                "action_id": action_id,
                "action_type": rule.type.value,
                "user_id": r["user_id"],
                "object_type": object_type,
                "object_id": r["object_id"],
                "episode": str(r["episode"])[:64],
                "state": ActionState.OPEN,
                "created_at": now,
                "contact_id": r["contact_id"],
                "company_id": r["company_id"],
            }
            for action_id, r in zip(action_ids, rows, strict=True)
        ],
    )
    return len(rows)


def _open_bundles(session: Session, rule: Rule, users: set[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in _chunks(sorted(users)):
        for action_id, user_id in session.execute(
            select(GuidedAction.id, GuidedAction.user_id).where(
                GuidedAction.action_type == rule.type.value,
                GuidedAction.state == ActionState.OPEN,
                GuidedAction.user_id.in_(chunk),
            )
        ):
            found[user_id] = action_id
    return found


def _chunks(values: list[int], size: int = 900) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


__all__ = [
    "EngineSettings",
    "EvaluationReport",
    "ObjectRef",
    "RefKind",
    "RuleRun",
    "evaluate",
    "prepare",
    "run_rule",
]
