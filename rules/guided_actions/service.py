"""What the Slack app, the digests and the CLI read: a user's open actions, ranked by what is
about to expire, their category and the user's feedback; and the types a user muted.

Closing an action and giving feedback are writes: ``rules.guided_actions.ops``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules.guided_actions.catalog import RULES_BY_TYPE
from rules.guided_actions.model import ActionType, Category, Rule
from storage.models import (
    ActionFeedback,
    ActionObject,
    ActionState,
    Activity,
    Company,
    Contact,
    Deal,
    GuidedAction,
    GuidedActionItem,
    Lead,
    User,
    UserPreferences,
)
from storage.types import utc

EXPIRING_SOON = timedelta(hours=24)
FEEDBACK_WINDOW = timedelta(days=90)
# A type sinks once the user said "Not really" at least this often, and more often than "Yes".
SINK_AFTER_REJECTIONS = 2
CATEGORY_ORDER = {Category.CLOSING.value: 0, Category.PROSPECTING.value: 1, Category.ALL.value: 2}


class ActionNotFound(LookupError):
    """No action or item with that id."""


class NotAllowed(PermissionError):
    """The actor may not act for the action's owner."""


@dataclass(frozen=True)
class LinkedRecord:
    """A record an action links to: what it is, its ids, and a label to show."""

    type: str
    id: int
    label: str
    external_id: str | None = None


@dataclass(frozen=True)
class ItemView:
    id: int
    label: str
    object: LinkedRecord
    contact: LinkedRecord | None
    company: LinkedRecord | None
    state: ActionState
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class ActionView:
    """One open action as a user sees it, ranked; ``items`` are its open items."""

    id: int
    type: ActionType
    number: int
    category: str
    title: str
    call_to_action: str
    bundled: bool
    created_at: datetime
    expires_at: datetime | None
    items: tuple[ItemView, ...]
    contact: LinkedRecord | None
    company: LinkedRecord | None
    sunk: bool = False
    # ``title`` before formatting, and its {count} or {label}: readers' languages translate
    # the template (``rules.translatable``) and format it themselves.
    title_template: str = ""
    title_value: int | str = ""


@dataclass(frozen=True)
class TypePreference:
    helpful: int
    not_helpful: int

    @property
    def sinks(self) -> bool:
        return self.not_helpful >= SINK_AFTER_REJECTIONS and self.not_helpful > self.helpful


# --- reading -------------------------------------------------------------------------------


def open_actions(
    session: Session,
    *,
    user_id: int,
    now: datetime,
    category: Category | str | None = None,
    include_muted: bool = False,
) -> list[ActionView]:
    """The user's open actions, ranked (see docs/guided-actions.md), muted types left out.

    Args:
        session: a session.
        user_id: whose actions.
        now: the time used to rank (what is about to expire).
        category: ``closing`` or ``prospecting`` to filter; ``all`` or None for every action.
        include_muted: also return muted types (for settings screens).
    """
    now = utc(now)
    wanted = None if category in (None, Category.ALL, "all") else Category(category).value
    query = select(GuidedAction).where(
        GuidedAction.user_id == user_id, GuidedAction.state == ActionState.OPEN
    )
    if wanted is not None:
        query = query.where(GuidedAction.category == wanted)
    actions = list(session.scalars(query.order_by(GuidedAction.id)))
    muted = set() if include_muted else muted_action_types(session, user_id=user_id)
    actions = [a for a in actions if a.action_type not in muted and a.action_type in _KNOWN]
    if not actions:
        return []
    items_by_action: dict[int, list[GuidedActionItem]] = defaultdict(list)
    for item in session.scalars(
        select(GuidedActionItem)
        .where(
            GuidedActionItem.action_id.in_([a.id for a in actions]),
            GuidedActionItem.state == ActionState.OPEN,
        )
        .order_by(GuidedActionItem.id)
    ):
        items_by_action[item.action_id].append(item)
    records = _Records.load(session, [i for items in items_by_action.values() for i in items])
    preferences = type_preferences(session, user_id=user_id, now=now)
    views = [
        _view(action, items_by_action.get(action.id, []), records, preferences)
        for action in actions
        if items_by_action.get(action.id)
    ]
    return sorted(views, key=lambda v: _rank_key(v, now, preferences))


def get_action(session: Session, *, action_id: int) -> GuidedAction:
    action = session.get(GuidedAction, action_id)
    if action is None:
        raise ActionNotFound(f"no guided action {action_id}")
    return action


_KNOWN = {t.value for t in ActionType}


def _rank_key(view: ActionView, now: datetime, prefs: dict[str, TypePreference]) -> tuple[Any, ...]:
    pref = prefs.get(view.type.value, TypePreference(0, 0))
    soon = view.expires_at is not None and view.expires_at - now <= EXPIRING_SOON
    far_future = datetime.max.replace(tzinfo=now.tzinfo)
    return (
        pref.sinks,
        not soon,
        CATEGORY_ORDER.get(view.category, 3),
        -(pref.helpful - pref.not_helpful),
        view.expires_at or far_future,
        view.created_at,
        view.id,
    )


def _view(
    action: GuidedAction,
    items: list[GuidedActionItem],
    records: _Records,
    prefs: dict[str, TypePreference],
) -> ActionView:
    rule = RULES_BY_TYPE[ActionType(action.action_type)]
    item_views = tuple(_item_view(rule, item, records) for item in items)
    deadlines = [i.expires_at for i in item_views if i.expires_at is not None]
    if rule.bundled:
        title = rule.title.format(count=len(item_views))
    else:
        title = rule.title.format(label=item_views[0].object.label)
    pref = prefs.get(action.action_type, TypePreference(0, 0))
    return ActionView(
        id=action.id,
        type=rule.type,
        number=rule.number,
        category=action.category,
        title=title,
        call_to_action=rule.call_to_action,
        bundled=action.bundled,
        title_template=rule.title,
        title_value=len(item_views) if rule.bundled else item_views[0].object.label,
        created_at=action.created_at,
        expires_at=min(deadlines) if deadlines else None,
        items=item_views,
        contact=records.contact(action.contact_id),
        company=records.company(action.company_id),
        sunk=pref.sinks,
    )


def _item_view(rule: Rule, item: GuidedActionItem, records: _Records) -> ItemView:
    record = records.record(item.object_type, item.object_id)
    linked = records.linked(item.object_type, item.object_id)
    return ItemView(
        id=item.id,
        label=linked.label,
        object=linked,
        contact=records.contact(item.contact_id),
        company=records.company(item.company_id),
        state=item.state,
        created_at=item.created_at,
        expires_at=expires_at(rule, record, item.created_at),
    )


def expires_at(rule: Rule, record: Any, created_at: datetime) -> datetime | None:
    """The earliest time an expiry condition will hold by the passage of time alone."""
    if record is None:
        return None
    times = []
    for condition in rule.all_expiry():
        if condition.deadline is not None:
            value = condition.deadline(record, created_at)
            if value is not None:
                times.append(value)
    return min(times) if times else None


_MODELS: dict[ActionObject, Any] = {
    ActionObject.CONTACT: Contact,
    ActionObject.LEAD: Lead,
    ActionObject.DEAL: Deal,
    ActionObject.MEETING: Activity,
    ActionObject.CALL: Activity,
    ActionObject.TASK: Activity,
}


class _Records:
    """The records behind a page of items, loaded with one query per table."""

    def __init__(self, by_key: dict[tuple[Any, int], Any]) -> None:
        self.by_key = by_key

    @classmethod
    def load(cls, session: Session, items: list[GuidedActionItem]) -> _Records:
        wanted: dict[Any, set[int]] = defaultdict(set)
        for item in items:
            wanted[_MODELS[item.object_type]].add(item.object_id)
            if item.contact_id is not None:
                wanted[Contact].add(item.contact_id)
            if item.company_id is not None:
                wanted[Company].add(item.company_id)
        by_key: dict[tuple[Any, int], Any] = {}
        for model, ids in wanted.items():
            for record in session.scalars(select(model).where(model.id.in_(sorted(ids)))):
                by_key[(model, record.id)] = record
        return cls(by_key)

    def record(self, object_type: ActionObject, object_id: int) -> Any:
        return self.by_key.get((_MODELS[object_type], object_id))

    def linked(self, object_type: ActionObject, object_id: int) -> LinkedRecord:
        record = self.record(object_type, object_id)
        if record is None:
            return LinkedRecord(object_type.value, object_id, f"(deleted {object_type.value})")
        return LinkedRecord(object_type.value, object_id, _label(record), record.external_id)

    def contact(self, contact_id: int | None) -> LinkedRecord | None:
        if contact_id is None:
            return None
        record = self.by_key.get((Contact, contact_id))
        label = _label(record) if record else "(deleted contact)"
        return LinkedRecord("contact", contact_id, label, record.external_id if record else None)

    def company(self, company_id: int | None) -> LinkedRecord | None:
        if company_id is None:
            return None
        record = self.by_key.get((Company, company_id))
        label = record.name if record else "(deleted company)"
        return LinkedRecord("company", company_id, label, record.external_id if record else None)


def _label(record: Any) -> str:
    if isinstance(record, Contact):
        return record.full_name or f"contact {record.id}"
    if isinstance(record, Activity):
        return record.subject or f"{record.kind.value} {record.id}"
    return str(getattr(record, "name", None) or record.id)


# --- ranking and muting ----------------------------------------------------------


def type_preferences(session: Session, *, user_id: int, now: datetime) -> dict[str, TypePreference]:
    """Per action type, how often the user answered "Yes" and "Not really" (last 90 days)."""
    since = utc(now) - FEEDBACK_WINDOW
    rows = session.execute(
        select(ActionFeedback.action_type, ActionFeedback.helpful, func.count())
        .where(
            ActionFeedback.user_id == user_id,
            func.coalesce(ActionFeedback.updated_at, ActionFeedback.created_at) >= since,
        )
        .group_by(ActionFeedback.action_type, ActionFeedback.helpful)
    ).all()
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for action_type, helpful, count in rows:
        counts[action_type][0 if helpful else 1] += int(count)
    return {t: TypePreference(helpful=c[0], not_helpful=c[1]) for t, c in counts.items()}


def muted_action_types(session: Session, *, user_id: int) -> set[str]:
    prefs = session.get(UserPreferences, user_id)
    return set(prefs.muted_action_types or []) if prefs else set()


def mute_action_type(
    session: Session, *, user_id: int, action_type: ActionType | str, now: datetime
) -> bool:
    """Hide a type from the user's actions; return False if it was already muted."""
    return _set_muted(session, user_id, ActionType(action_type), True, utc(now))


def unmute_action_type(
    session: Session, *, user_id: int, action_type: ActionType | str, now: datetime
) -> bool:
    """Show a muted type again; return False if it was not muted."""
    return _set_muted(session, user_id, ActionType(action_type), False, utc(now))


def _set_muted(
    session: Session, user_id: int, action_type: ActionType, muted: bool, now: datetime
) -> bool:
    prefs = session.get(UserPreferences, user_id)
    if prefs is None:
        if session.get(User, user_id) is None:
            raise ActionNotFound(f"no user {user_id}")
        prefs = UserPreferences(user_id=user_id, muted_action_types=[])
        session.add(prefs)
    current = list(prefs.muted_action_types or [])
    if (action_type.value in current) == muted:
        return False
    if muted:
        current.append(action_type.value)
    else:
        current.remove(action_type.value)
    # A new list: JSON columns only notice assignment, not in-place changes.
    prefs.muted_action_types = sorted(current)
    prefs.updated_at = now
    session.flush()
    return True
