"""The Deals view: visibility, "No activity scheduled", filters and paging."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from rules.deals.queries import DealCategory, DealFilters, DealRow, category_counts, deals_page
from storage.models import DealVisibility, MeetingOutcome, Role, TaskStatus, User
from tests.builders import CRM


def _names(page_deals: tuple[DealRow, ...]) -> list[str]:
    return [deal.name for deal in page_deals]


def test_no_activity_scheduled_lists_open_deals_with_nothing_ahead(
    any_engine: Engine, now: datetime
) -> None:
    with Session(any_engine) as session:
        crm = CRM(session, now)
        rep = crm.user()
        later, earlier = now + timedelta(days=2), now - timedelta(days=2)

        future_task = crm.deal(rep, name="Future task")
        crm.task(rep, due_at=later, deals=[future_task])
        overdue_only = crm.deal(rep, name="Overdue task only")
        crm.task(rep, due_at=earlier, deals=[overdue_only])
        done_task = crm.deal(rep, name="Future task already done")
        crm.task(
            rep, due_at=later, status=TaskStatus.COMPLETED, completed_at=now, deals=[done_task]
        )
        meeting = crm.deal(rep, name="Meeting booked")
        crm.meeting(rep, starts_at=later, deals=[meeting])
        canceled = crm.deal(rep, name="Meeting canceled")
        crm.meeting(rep, starts_at=later, outcome=MeetingOutcome.CANCELED, deals=[canceled])
        past_meeting = crm.deal(rep, name="Meeting in the past")
        crm.meeting(rep, starts_at=earlier, deals=[past_meeting])
        # Someone else's task on the rep's deal still counts as scheduled work.
        colleague = crm.user()
        theirs = crm.deal(rep, name="Colleague's call booked")
        crm.task(colleague, due_at=later, deals=[theirs])
        crm.deal(rep, name="Nothing at all")
        crm.deal(rep, name="Won already", stage="closedwon")
        crm.deal(crm.user(), name="Another rep's idle deal")
        session.commit()

        page = deals_page(session, rep, now=now, category=DealCategory.NO_ACTIVITY_SCHEDULED)
        assert sorted(_names(page.deals)) == [
            "Future task already done",
            "Meeting canceled",
            "Meeting in the past",
            "Nothing at all",
            "Overdue task only",
        ]
        assert page.total == 5
        assert category_counts(session, rep, now=now)[DealCategory.NO_ACTIVITY_SCHEDULED] == 5

        booked = deals_page(session, rep, now=now, category=DealCategory.OPEN)
        rows = {row.name: row for row in booked.deals}
        assert rows["Future task"].next_activity_at == later
        assert rows["Meeting in the past"].next_activity_at is None
        assert rows["Meeting in the past"].last_activity_at == earlier


def test_a_rep_never_sees_another_reps_deals_unless_allowed(session: Session, crm: CRM) -> None:
    east, west = crm.team(name="East"), crm.team(name="West")
    ana = crm.user(team_id=east.id, deal_visibility=DealVisibility.OWNED)
    ben = crm.user(team_id=east.id, deal_visibility=DealVisibility.TEAM)
    cy = crm.user(team_id=west.id, deal_visibility=DealVisibility.OWNED)
    admin = crm.user(role=Role.SUPER_ADMIN)
    crm.deal(ana, name="Ana's")
    crm.deal(ben, name="Ben's")
    crm.deal(cy, name="Cy's")

    def visible(user: User) -> list[str]:
        page = deals_page(session, user, now=crm.now, category=DealCategory.ALL)
        return sorted(_names(page.deals))

    assert visible(ana) == ["Ana's"]
    assert visible(ben) == ["Ana's", "Ben's"]
    assert visible(cy) == ["Cy's"]
    assert visible(admin) == ["Ana's", "Ben's", "Cy's"]
    # A filter on someone else's owner id reveals nothing.
    sneaky = deals_page(
        session,
        ana,
        now=crm.now,
        category=DealCategory.ALL,
        filters=DealFilters(owner_ids=frozenset({cy.id})),
    )
    assert sneaky.total == 0 and sneaky.deals == ()


def test_categories_and_filters(session: Session, crm: CRM, now: datetime) -> None:
    boss = crm.user(deal_visibility=DealVisibility.EVERYTHING)
    rep = crm.user()
    today = now.date()
    crm.deal(rep, name="Small", amount=Decimal("500"), close_date=today + timedelta(days=3))
    crm.deal(rep, name="Big", amount=Decimal("90000"), close_date=today + timedelta(days=40))
    crm.deal(
        boss,
        name="Slipped",
        stage="contractsent",
        amount=Decimal("20000"),
        close_date=today - timedelta(days=1),
    )
    crm.deal(rep, name="Lost one", stage="closedlost", close_date=today)

    def names(category: DealCategory, **filters: Any) -> list[str]:
        page = deals_page(session, boss, now=now, category=category, filters=DealFilters(**filters))
        return _names(page.deals)

    # Ordered by close date.
    assert names(DealCategory.OPEN) == ["Slipped", "Small", "Big"]
    assert names(DealCategory.MINE) == ["Slipped"]
    assert names(DealCategory.CLOSE_DATE_PASSED) == ["Slipped"]
    assert names(DealCategory.CLOSING_THIS_MONTH) == ["Slipped", "Small"]
    assert names(DealCategory.LOST) == ["Lost one"]
    assert names(DealCategory.OPEN, amount_min=Decimal("1000")) == ["Slipped", "Big"]
    assert names(DealCategory.OPEN, amount_max=Decimal("20000")) == ["Slipped", "Small"]
    assert names(DealCategory.OPEN, owner_ids=frozenset({rep.id})) == ["Small", "Big"]
    assert names(DealCategory.OPEN, stage_ids=frozenset({crm.stage("contractsent").id})) == [
        "Slipped"
    ]
    assert names(DealCategory.ALL, close_from=today, close_to=today + timedelta(days=3)) == [
        "Lost one",
        "Small",
    ]
    assert names(DealCategory.ALL, search="BIG") == ["Big"]

    counts = category_counts(session, boss, now=now)
    assert counts[DealCategory.ALL] == 4
    assert counts[DealCategory.OPEN] == 3
    assert counts[DealCategory.LOST] == 1

    first = deals_page(session, boss, now=now, category=DealCategory.OPEN, limit=2)
    second = deals_page(session, boss, now=now, category=DealCategory.OPEN, offset=2, limit=2)
    assert (first.total, first.has_more, second.has_more) == (3, True, False)
    assert _names(first.deals) + _names(second.deals) == ["Slipped", "Small", "Big"]
    assert first.deals[0].owner_name == boss.name
    assert first.deals[0].stage_label == "Contract sent"
