"""Why an action exists or not: each criterion and expiry condition, checked for one record.

It runs the very predicates the engine runs (``Condition.sql``), narrowed to one record, so an
explanation cannot drift from what the engine does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from rules.guided_actions import predicates as p
from rules.guided_actions.catalog import rule_for
from rules.guided_actions.engine import NO_EPISODE, EngineSettings
from rules.guided_actions.model import Rule, you_row
from storage.models import ActionState, GuidedActionItem
from storage.types import utc


class RecordNotFound(LookupError):
    """No record of the rule's subject kind with that id."""


@dataclass(frozen=True)
class ConditionCheck:
    key: str
    text: str
    holds: bool


@dataclass(frozen=True)
class PriorItem:
    item_id: int
    action_id: int
    state: ActionState
    episode: str
    created_at: datetime
    closed_at: datetime | None
    closed_reason: str | None


@dataclass(frozen=True)
class Explanation:
    """The verdict for one rule and one record.

    Attributes:
        criteria: each creation criterion and whether it holds.
        expiry: each expiry condition, checked against the open item's creation time when
            there is one, else as if the action were created now.
        episode: what identifies the current situation.
        prior: earlier and open items of this rule for this record and user.
        would_create: all criteria hold, no expiry holds and nothing blocks it.
        blocked_by: why a new item is not created although the criteria hold.
    """

    rule: Rule
    object_id: int
    user_id: int | None
    now: datetime
    criteria: tuple[ConditionCheck, ...]
    expiry: tuple[ConditionCheck, ...]
    episode: str
    prior: tuple[PriorItem, ...]
    would_create: bool
    blocked_by: str | None


def resolve_object_id(session: Session, rule: Rule, text: str) -> int:
    """Accept a record's id or its external (CRM) id.

    Raises:
        RecordNotFound: neither matches a record of the rule's subject kind.
    """
    entity = rule.subject.entity
    query = select(entity.id).where(entity.external_id == text)
    if text.isdigit():
        query = select(entity.id).where(entity.id == int(text))
    if rule.subject.activity_kind is not None:
        query = query.where(entity.kind == rule.subject.activity_kind)
    found = session.scalar(query)
    if found is None:
        raise RecordNotFound(f"no {rule.subject.value} with id {text!r}")
    return int(found)


def explain(
    session: Session,
    *,
    action_type: str | int,
    object_id: int,
    now: datetime,
    user_id: int | None = None,
) -> Explanation:
    """Check one rule for one record, criterion by criterion.

    Args:
        session: a session.
        action_type: the rule's name (``log_meeting_outcome``) or number (``6``).
        object_id: the record's id (a contact, lead, deal, meeting, call or task).
        now: the evaluation time.
        user_id: whose action to check ("you"); default: the record's owner.

    Raises:
        KeyError: unknown action type.
        RecordNotFound: no such record of the rule's subject kind.
    """
    now = utc(now)
    rule = rule_for(action_type)
    entity = rule.subject.entity
    owner = session.execute(
        select(entity.owner_id).where(
            entity.id == object_id,
            *(
                [entity.kind == rule.subject.activity_kind]
                if rule.subject.activity_kind is not None
                else []
            ),
        )
    ).first()
    if owner is None:
        raise RecordNotFound(f"no {rule.subject.value} with id {object_id}")
    you = user_id if user_id is not None else owner[0]
    prior = _prior_items(session, rule, object_id, you)
    open_item = next((i for i in prior if i.state is ActionState.OPEN), None)
    created = open_item.created_at if open_item else now

    settings = EngineSettings.load(session, now)
    ctx = settings.ctx(entity, you=literal(you), created_at=p.at(created))
    expiry = rule.all_expiry()
    episode = rule.episode(ctx) if rule.episode else literal(NO_EPISODE)
    columns: list[Any] = [p.as_flag(c.sql(ctx)) for c in (*rule.criteria, *expiry)]
    you_table = you_row()
    row = session.execute(
        select(*columns, episode)
        .select_from(entity)
        .outerjoin(you_table.table, you_table.id == literal(you))
        .where(entity.id == object_id)
    ).one()
    flags = [bool(v) for v in row[:-1]]
    episode_text = str(row[-1] if row[-1] is not None else NO_EPISODE)
    criteria = tuple(ConditionCheck(c.key, c.text, flags[n]) for n, c in enumerate(rule.criteria))
    expiries = tuple(
        ConditionCheck(c.key, c.text, flags[len(rule.criteria) + n]) for n, c in enumerate(expiry)
    )
    blocked = None
    if you is None:
        blocked = "the record has no owner"
    elif open_item is not None:
        blocked = f"an action for it is already open (item {open_item.item_id})"
    else:
        same = next((i for i in prior if i.episode == episode_text), None)
        if same is not None:
            blocked = (
                f"an action for this same situation was already {same.state.value} "
                f"(item {same.item_id}); it comes back only when the situation arises again"
            )
    holds = all(c.holds for c in criteria)
    explicit_expiry = [c for c in expiries if not c.key.startswith("no_longer:")]
    would = holds and blocked is None and not any(c.holds for c in explicit_expiry)
    return Explanation(
        rule=rule,
        object_id=object_id,
        user_id=you,
        now=now,
        criteria=criteria,
        expiry=expiries,
        episode=episode_text,
        prior=tuple(prior),
        would_create=would,
        blocked_by=blocked if holds else None,
    )


def _prior_items(
    session: Session, rule: Rule, object_id: int, user_id: int | None
) -> list[PriorItem]:
    if user_id is None:
        return []
    rows = session.scalars(
        select(GuidedActionItem)
        .where(
            GuidedActionItem.action_type == rule.type.value,
            GuidedActionItem.object_id == object_id,
            GuidedActionItem.user_id == user_id,
        )
        .order_by(GuidedActionItem.id)
    )
    return [
        PriorItem(
            item_id=i.id,
            action_id=i.action_id,
            state=i.state,
            episode=i.episode,
            created_at=i.created_at,
            closed_at=i.closed_at,
            closed_reason=i.closed_reason,
        )
        for i in rows
    ]
