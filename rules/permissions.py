"""Who may see and act on which records: the one place that decides it.

Deal visibility follows HubSpot's per-object permission (view Everything / Team only /
Owned only). A super admin sees everything. An unknown or missing setting means "owned
only": when in doubt, show less. Unassigned deals are visible only with "everything".

Activities (meetings, calls, emails, notes, tasks) of a deal are visible only when the deal
is, and then by a rule per activity kind (``ACTIVITY_RULES``): today every kind follows its
owner, the way deals do. A rep who may see a deal does not thereby see what another rep wrote
about it (Deal Insights' budget-cut example, spec section 6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.models import Activity, ActivityDeal, ActivityKind, Deal, DealVisibility, Role, User


def effective_visibility(user: User) -> DealVisibility:
    if user.role is Role.SUPER_ADMIN:
        return DealVisibility.EVERYTHING
    try:
        return DealVisibility(user.deal_visibility)
    except ValueError:
        return DealVisibility.OWNED


def visible_owner_clause(
    user: User, owner_column: InstrumentedAttribute[int | None] | ColumnElement[int | None]
) -> ColumnElement[bool]:
    """A WHERE clause: the record's owner is one whose records ``user`` may see."""
    if not user.is_active:
        return false()
    scope = effective_visibility(user)
    if scope is DealVisibility.EVERYTHING:
        return true()
    if scope is DealVisibility.TEAM and user.team_id is not None:
        return owner_column.in_(select(User.id).where(User.team_id == user.team_id))
    return owner_column == user.id


def visible_deals(user: User) -> Select[Deal]:
    """All deals ``user`` may see, as a query to refine (filter, order, limit)."""
    return select(Deal).where(visible_owner_clause(user, Deal.owner_id))


class ActivityRule(StrEnum):
    """Who may see an activity of a deal they may see."""

    # The owner, and users whose deal visibility covers the owner (team, everything);
    # an unowned activity only with "everything".
    FOLLOWS_OWNER = "follows_owner"


# [choice] One rule per kind, kept as data so a kind can get its own rule later (e.g.
# meetings visible to their attendees). Notes and emails are the sensitive ones: what a
# rep wrote or sent is theirs and their managers', not every rep's on the deal.
ACTIVITY_RULES: dict[ActivityKind, ActivityRule] = {
    ActivityKind.EMAIL: ActivityRule.FOLLOWS_OWNER,
    ActivityKind.NOTE: ActivityRule.FOLLOWS_OWNER,
    ActivityKind.MEETING: ActivityRule.FOLLOWS_OWNER,
    ActivityKind.CALL: ActivityRule.FOLLOWS_OWNER,
    ActivityKind.TASK: ActivityRule.FOLLOWS_OWNER,
}

_RULE_CLAUSES: dict[ActivityRule, Callable[[User], ColumnElement[bool]]] = {
    ActivityRule.FOLLOWS_OWNER: lambda user: visible_owner_clause(user, Activity.owner_id),
}


def visible_activity_clause(
    user: User, kinds: Iterable[ActivityKind] = tuple(ActivityKind)
) -> ColumnElement[bool]:
    """A WHERE clause on ``Activity``: one of ``kinds``, and visible to ``user`` by its rule.

    This says nothing about the deal: combine it with ``visible_deal_activities``.
    """
    by_rule: dict[ActivityRule, list[ActivityKind]] = {}
    for kind in kinds:
        by_rule.setdefault(ACTIVITY_RULES.get(kind, ActivityRule.FOLLOWS_OWNER), []).append(kind)
    if not by_rule:
        return false()
    return or_(
        *(
            and_(Activity.kind.in_(rule_kinds), _RULE_CLAUSES[rule](user))
            for rule, rule_kinds in by_rule.items()
        )
    )


def visible_deal_activities(
    user: User, *, deal_id: int, kinds: Iterable[ActivityKind] = tuple(ActivityKind)
) -> Select[Activity]:
    """The activities of deal ``deal_id`` that ``user`` may see, as a query to refine.

    Empty when the deal itself is not visible, so nothing invisible is ever loaded.
    """
    deal_visible = (
        select(Deal.id)
        .where(Deal.id == deal_id, visible_owner_clause(user, Deal.owner_id))
        .exists()
    )
    return (
        select(Activity)
        .join(ActivityDeal, ActivityDeal.activity_id == Activity.id)
        .where(ActivityDeal.deal_id == deal_id, deal_visible, visible_activity_clause(user, kinds))
    )


def can_view_deal(session: Session, user: User, deal_id: int) -> bool:
    found = session.scalar(
        select(Deal.id).where(Deal.id == deal_id, visible_owner_clause(user, Deal.owner_id))
    )
    return found is not None


def can_view_activity(session: Session, user: User, activity_id: int) -> bool:
    """May ``user`` see activity ``activity_id`` (by its kind's rule)?"""
    found = session.scalar(
        select(Activity.id).where(Activity.id == activity_id, visible_activity_clause(user))
    )
    return found is not None


def can_act_for(session: Session, actor: User, owner_id: int | None) -> bool:
    """May ``actor`` change records owned by ``owner_id`` (complete, reschedule, log...)?

    The owner themselves, a manager of the owner's team, or a super admin.
    """
    if not actor.is_active:
        return False
    if actor.role is Role.SUPER_ADMIN:
        return True
    if owner_id is None:
        return False
    if owner_id == actor.id:
        return True
    if actor.role is Role.MANAGER and actor.team_id is not None:
        owner_team = session.scalar(select(User.team_id).where(User.id == owner_id))
        return owner_team == actor.team_id
    return False


def can_view_workspace(session: Session, *, viewer: User, owner: User) -> bool:
    """May ``viewer`` open ``owner``'s workspace (overview, tasks, schedule, feed)?

    The owner themselves, a super admin ("name dropdown"), or a manager of the owner's team.
    Anyone but the owner sees the owner's meetings as "Busy" (``rules.meetings.queries.redact``).
    """
    if not viewer.is_active:
        return False
    if viewer.id == owner.id:
        return True
    return can_act_for(session, viewer, owner.id)


class WorkspaceAccessDenied(PermissionError):
    """The viewer may not open that user's workspace."""


def require_workspace_access(session: Session, *, viewer: User, owner: User) -> bool:
    """Raise WorkspaceAccessDenied unless ``viewer`` may view ``owner``'s workspace.

    Returns:
        Whether the viewer is the owner (callers redact meetings when not).
    """
    if not can_view_workspace(session, viewer=viewer, owner=owner):
        raise WorkspaceAccessDenied(f"user {viewer.id} may not view the workspace of {owner.id}")
    return viewer.id == owner.id
