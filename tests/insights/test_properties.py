"""Property: whatever the visibility set-up, nothing invisible reaches a prompt or an answer."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from insights.llm import InsightWriter
from insights.report import insight_to_json
from insights.service import DealNotVisible, deal_insight
from storage.models import Activity, ActivityKind, Deal, DealVisibility, Role, User
from tests.builders import CRM
from tests.support.llm import FakeModel, answer, evidence_in

users_st = st.lists(
    st.tuples(
        st.sampled_from([None, 0, 1]),  # team
        st.sampled_from(list(DealVisibility)),
        st.sampled_from([Role.REP, Role.REP, Role.MANAGER, Role.SUPER_ADMIN]),
    ),
    min_size=2,
    max_size=4,
)
activities_st = st.lists(
    st.tuples(
        st.sampled_from(
            [ActivityKind.EMAIL, ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.MEETING]
        ),
        st.integers(min_value=-1, max_value=3),  # owner index; -1 = unowned
    ),
    min_size=1,
    max_size=8,
)


def _may_see(viewer: User, owner: User | None) -> bool:
    """The rule, restated independently of rules.permissions."""
    if not viewer.is_active:
        return False
    if viewer.role is Role.SUPER_ADMIN or viewer.deal_visibility is DealVisibility.EVERYTHING:
        return True
    if owner is None:
        return False
    if viewer.deal_visibility is DealVisibility.TEAM and viewer.team_id is not None:
        return owner.team_id == viewer.team_id
    return owner.id == viewer.id


def _activity(
    crm: CRM, kind: ActivityKind, who: User | None, secret: str, *, when: datetime, deal: Deal
) -> Activity:
    """An activity of ``kind`` on the deal whose every text is ``secret``."""
    if kind is ActivityKind.EMAIL:
        return crm.email(
            who, subject=secret, body=secret, sent_at=when, opened_at=when, deals=[deal]
        )
    if kind is ActivityKind.NOTE:
        return crm.note(who, secret, at=when, deals=[deal])
    if kind is ActivityKind.CALL:
        return crm.call(who, subject=secret, body=secret, starts_at=when, deals=[deal])
    return crm.meeting(who, subject=secret, body=secret, starts_at=when, deals=[deal])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    users=users_st,
    deal_owner=st.integers(min_value=-1, max_value=3),
    activities=activities_st,
    inactive=st.integers(min_value=-1, max_value=3),  # which user is inactive, if any
)
def test_no_invisible_activity_reaches_a_prompt_or_an_answer(
    sqlite_engine: Engine,
    now: datetime,
    model: FakeModel,
    writer: InsightWriter,
    users: list[tuple[int | None, DealVisibility, Role]],
    deal_owner: int,
    activities: list[tuple[ActivityKind, int]],
    inactive: int,
) -> None:
    with Session(sqlite_engine) as session:
        crm = CRM(session, now)
        teams = [crm.team(), crm.team()]
        people = [
            crm.user(
                team_id=teams[team].id if team is not None else None,
                deal_visibility=visibility,
                role=role,
                is_active=index != inactive,
            )
            for index, (team, visibility, role) in enumerate(users)
        ]

        def person(index: int) -> User | None:
            return people[index] if 0 <= index < len(people) else None

        owner = person(deal_owner)
        deal = crm.deal(owner)
        made = []
        for position, (kind, owner_index) in enumerate(activities):
            who = person(owner_index)
            secret = f"TXT{position}X{kind.value}"
            # Days apart, so that opened emails become "buyer unresponsive" risks, whose
            # text quotes the email's subject.
            when = now - timedelta(days=2 * position + 1)
            record = _activity(crm, kind, who, secret, when=when, deal=deal)
            made.append((record.id, secret, who))

        def forger(request: httpx.Request) -> httpx.Response:
            # A model that invents: it cites every activity of the deal, seen or not.
            evidence_in(request)
            everything = [(f"{text} happened", [activity_id]) for activity_id, text, _ in made]
            return answer(recent=everything[:5], risks=everything[5:], goals=everything)

        model.behaves(forger)
        for viewer in people:
            calls_before = model.calls
            try:
                insight = deal_insight(
                    session, deal_id=deal.id, viewer=viewer, now=now, writer=writer
                )
            except DealNotVisible:
                assert not _may_see(viewer, owner)
                assert model.calls == calls_before
                continue
            assert _may_see(viewer, owner)
            prompts = model.prompts()[calls_before:]
            prompt_ids = set().union(*model.prompt_ids()[calls_before:])
            shown = json.dumps(insight_to_json(insight))
            for activity_id, secret, who in made:
                visible = _may_see(viewer, who)
                if visible:
                    continue
                for prompt in prompts:
                    assert secret not in prompt
                assert activity_id not in prompt_ids
                assert secret not in shown
                assert activity_id not in insight.evidence_ids
                assert activity_id not in (insight.ai.cited_ids if insight.ai else ())
        session.rollback()
