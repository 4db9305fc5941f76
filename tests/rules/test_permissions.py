"""Which deals a user may see, and whose records they may change."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rules.permissions import can_act_for, can_view_deal, visible_deals
from storage.models import DealVisibility, Role, User
from tests.builders import CRM


def _names(session: Session, user: User) -> set[str]:
    return {deal.name for deal in session.scalars(visible_deals(user))}


def test_visibility_scopes(session: Session, crm: CRM) -> None:
    east, west = crm.team(name="East"), crm.team(name="West")
    ana = crm.user(team_id=east.id, deal_visibility=DealVisibility.OWNED)
    ben = crm.user(team_id=east.id, deal_visibility=DealVisibility.TEAM)
    cy = crm.user(team_id=west.id, deal_visibility=DealVisibility.EVERYTHING)
    admin = crm.user(role=Role.SUPER_ADMIN, deal_visibility=DealVisibility.OWNED)
    crm.deal(ana, name="Ana's deal")
    crm.deal(ben, name="Ben's deal")
    crm.deal(cy, name="Cy's deal")
    crm.deal(None, name="Unassigned deal")

    assert _names(session, ana) == {"Ana's deal"}
    assert _names(session, ben) == {"Ana's deal", "Ben's deal"}
    assert _names(session, cy) == {"Ana's deal", "Ben's deal", "Cy's deal", "Unassigned deal"}
    assert _names(session, admin) == _names(session, cy)


def test_unknown_visibility_means_owned_only_and_inactive_sees_nothing(
    session: Session, crm: CRM
) -> None:
    team = crm.team()
    dora = crm.user(team_id=team.id, deal_visibility=DealVisibility.TEAM)
    eve = crm.user(team_id=team.id)
    deal = crm.deal(eve, name="Eve's deal")
    assert can_view_deal(session, dora, deal.id)
    dora.is_active = False
    assert not can_view_deal(session, dora, deal.id)


def test_who_may_act_for_an_owner(session: Session, crm: CRM) -> None:
    east, west = crm.team(), crm.team()
    rep = crm.user(team_id=east.id)
    peer = crm.user(team_id=east.id, deal_visibility=DealVisibility.TEAM)
    manager = crm.user(team_id=east.id, role=Role.MANAGER)
    other_manager = crm.user(team_id=west.id, role=Role.MANAGER)
    admin = crm.user(role=Role.SUPER_ADMIN)

    assert can_act_for(session, rep, rep.id)
    assert not can_act_for(session, peer, rep.id)  # seeing is not changing
    assert can_act_for(session, manager, rep.id)
    assert not can_act_for(session, other_manager, rep.id)
    assert can_act_for(session, admin, rep.id)
    assert not can_act_for(session, rep, None)


def test_who_may_open_someone_elses_workspace(session: Session, crm: CRM) -> None:
    from rules.permissions import can_view_workspace

    east, west = crm.team(), crm.team()
    rep = crm.user(team_id=east.id)
    peer = crm.user(team_id=east.id, deal_visibility=DealVisibility.EVERYTHING)
    manager = crm.user(team_id=east.id, role=Role.MANAGER)
    other_manager = crm.user(team_id=west.id, role=Role.MANAGER)
    admin = crm.user(role=Role.SUPER_ADMIN)

    def may(viewer: User) -> bool:
        return can_view_workspace(session, viewer=viewer, owner=rep)

    assert may(rep) and may(manager) and may(admin)
    # Seeing all deals is not opening someone's workspace.
    assert not may(peer)
    assert not may(other_manager)
    admin.is_active = False
    assert not may(admin)


def test_activities_of_a_deal_follow_their_owner(session: Session, crm: CRM) -> None:
    from rules.permissions import visible_deal_activities

    east, west = crm.team(), crm.team()
    owner = crm.user(team_id=east.id, deal_visibility=DealVisibility.OWNED)
    teammate = crm.user(team_id=east.id, deal_visibility=DealVisibility.TEAM)
    outsider = crm.user(team_id=west.id, deal_visibility=DealVisibility.OWNED)
    admin = crm.user(role=Role.SUPER_ADMIN)
    deal = crm.deal(owner)
    own_note = crm.note(owner, "mine", deals=[deal])
    teammate_email = crm.email(teammate, deals=[deal])
    outsider_call = crm.call(outsider, deals=[deal])
    unowned_meeting = crm.meeting(None, deals=[deal])
    crm.note(owner, "on another deal", deals=[crm.deal(owner)])

    def seen(user: User) -> set[int]:
        return {a.id for a in session.scalars(visible_deal_activities(user, deal_id=deal.id))}

    assert seen(owner) == {own_note.id}
    assert seen(teammate) == {own_note.id, teammate_email.id}
    # The outsider may not see the deal, so not even their own call on it.
    assert seen(outsider) == set()
    assert seen(admin) == {own_note.id, teammate_email.id, outsider_call.id, unowned_meeting.id}
