"""The Deals view: the deals a user may see, by category, filtered and paged.

Visibility comes from ``rules.permissions.visible_deals`` only. The category
**"No activity scheduled"** holds open deals with nothing ahead of them: no associated open task
due from now on and no associated meeting starting from now on that is still scheduled
(outcome empty, Scheduled or Rescheduled). An overdue task does not count as scheduled: it is
behind the deal, not ahead of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from rules.clock import clock_for
from rules.meetings.queries import PENDING_OUTCOMES
from rules.permissions import visible_deals
from rules.records import RecordRef, aggregate_time
from rules.tasks.queries import open_task_clause
from storage.models import (
    Activity,
    ActivityDeal,
    ActivityKind,
    Company,
    Deal,
    PipelineStage,
    StageState,
    User,
)


class DealCategory(StrEnum):
    ALL = "all"
    OPEN = "open"
    # Open deals the viewer owns.
    MINE = "mine"
    NO_ACTIVITY_SCHEDULED = "no_activity_scheduled"
    # Open deals whose close date falls in the viewer's current local month.
    CLOSING_THIS_MONTH = "closing_this_month"
    # Open deals whose close date is before the viewer's local today.
    CLOSE_DATE_PASSED = "close_date_passed"
    WON = "won"
    LOST = "lost"


@dataclass(frozen=True)
class DealFilters:
    """Filters of the Deals view; a field left at None filters nothing. Bounds are inclusive."""

    stage_ids: frozenset[int] | None = None
    owner_ids: frozenset[int] | None = None
    close_from: date | None = None
    close_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    # Case-insensitive substring of the deal name.
    search: str | None = None


@dataclass(frozen=True)
class DealRow:
    """One deal as the Deals view lists it."""

    id: int
    name: str
    owner_id: int | None
    owner_name: str | None
    stage_id: int
    stage_label: str
    stage_state: StageState
    amount: Decimal | None
    currency: str
    close_date: date | None
    next_step: str | None
    company: RecordRef | None
    # The earliest scheduled activity ahead (open task due or pending meeting start).
    next_activity_at: datetime | None
    # The latest activity that already happened (tasks count by their due time).
    last_activity_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.stage_state is StageState.OPEN


@dataclass(frozen=True)
class DealPage:
    category: DealCategory
    deals: tuple[DealRow, ...]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.deals) < self.total


def scheduled_activity_clause(now: datetime) -> ColumnElement[bool]:
    """WHERE: the activity is ahead of ``now`` and still planned (open task or pending meeting)."""
    return or_(
        and_(open_task_clause(), Activity.due_at >= now),
        and_(
            Activity.kind == ActivityKind.MEETING,
            Activity.starts_at >= now,
            or_(Activity.outcome.is_(None), Activity.outcome.in_(PENDING_OUTCOMES)),
        ),
    )


def has_scheduled_activity(now: datetime) -> ColumnElement[bool]:
    """WHERE (correlated to ``Deal``): the deal has some scheduled activity ahead."""
    return exists(
        select(ActivityDeal.activity_id)
        .join(Activity, Activity.id == ActivityDeal.activity_id)
        .where(ActivityDeal.deal_id == Deal.id, scheduled_activity_clause(now))
    )


def _category_clause(
    category: DealCategory, viewer: User, *, now: datetime, today: date
) -> ColumnElement[bool]:
    is_open = PipelineStage.state == StageState.OPEN
    if category is DealCategory.ALL:
        return Deal.id.is_not(None)
    if category is DealCategory.OPEN:
        return is_open
    if category is DealCategory.MINE:
        return and_(is_open, Deal.owner_id == viewer.id)
    if category is DealCategory.NO_ACTIVITY_SCHEDULED:
        return and_(is_open, ~has_scheduled_activity(now))
    if category is DealCategory.CLOSING_THIS_MONTH:
        first = today.replace(day=1)
        next_first = (first + timedelta(days=32)).replace(day=1)
        return and_(is_open, Deal.close_date >= first, Deal.close_date < next_first)
    if category is DealCategory.CLOSE_DATE_PASSED:
        return and_(is_open, Deal.close_date < today)
    if category is DealCategory.WON:
        return PipelineStage.state == StageState.WON
    return PipelineStage.state == StageState.LOST


def _apply_filters(query: Select[Deal], filters: DealFilters) -> Select[Deal]:
    if filters.stage_ids is not None:
        query = query.where(Deal.stage_id.in_(sorted(filters.stage_ids)))
    if filters.owner_ids is not None:
        query = query.where(Deal.owner_id.in_(sorted(filters.owner_ids)))
    if filters.close_from is not None:
        query = query.where(Deal.close_date >= filters.close_from)
    if filters.close_to is not None:
        query = query.where(Deal.close_date <= filters.close_to)
    if filters.amount_min is not None:
        query = query.where(Deal.amount >= filters.amount_min)
    if filters.amount_max is not None:
        query = query.where(Deal.amount <= filters.amount_max)
    if filters.search:
        query = query.where(func.lower(Deal.name).contains(filters.search.lower()))
    return query


def _activity_times(
    session: Session, deal_ids: list[int], now: datetime
) -> dict[int, tuple[datetime | None, datetime | None]]:
    """Per deal: (next scheduled activity, last past activity), in one grouped query."""
    if not deal_ids:
        return {}
    planned_at = case(
        (Activity.kind == ActivityKind.TASK, Activity.due_at), else_=Activity.starts_at
    )
    rows = session.execute(
        select(
            ActivityDeal.deal_id,
            func.min(case((scheduled_activity_clause(now), planned_at))),
            func.max(case((Activity.occurred_at <= now, Activity.occurred_at))),
        )
        .join(Activity, Activity.id == ActivityDeal.activity_id)
        .where(ActivityDeal.deal_id.in_(deal_ids))
        .group_by(ActivityDeal.deal_id)
    )
    result: dict[int, tuple[datetime | None, datetime | None]] = {}
    for deal_id, next_at, last_at in rows:
        result[deal_id] = (aggregate_time(next_at), aggregate_time(last_at))
    return result


def deals_page(
    session: Session,
    viewer: User,
    *,
    now: datetime,
    category: DealCategory = DealCategory.OPEN,
    filters: DealFilters | None = None,
    offset: int = 0,
    limit: int = 20,
) -> DealPage:
    """One page of the deals ``viewer`` may see, in one category, filtered.

    Ordered by close date (soonest first, deals without one last), then name.

    Args:
        session: An open session.
        viewer: Who is looking; only deals their visibility allows are ever read.
        now: The current instant (aware).
        category: Which view.
        filters: Further narrowing (stage, owner, close date range, amount, name).
        offset: How many deals to skip.
        limit: Page size (at least 1).
    """
    if limit < 1 or offset < 0:
        raise ValueError("limit must be positive and offset not negative")
    today = clock_for(session, viewer, now=now).today
    query = (
        visible_deals(viewer)
        .join(PipelineStage, PipelineStage.id == Deal.stage_id)
        .where(_category_clause(category, viewer, now=now, today=today))
    )
    query = _apply_filters(query, filters or DealFilters())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    # An alias: the visibility clause has its own subquery on ``users``.
    owner = aliased(User)
    page = session.execute(
        query.with_only_columns(
            Deal.id,
            Deal.name,
            Deal.owner_id,
            owner.name,
            Deal.stage_id,
            PipelineStage.label,
            PipelineStage.state,
            Deal.amount,
            Deal.currency,
            Deal.close_date,
            Deal.next_step,
            Company.id,
            Company.name,
        )
        .outerjoin(owner, owner.id == Deal.owner_id)
        .outerjoin(Company, Company.id == Deal.company_id)
        .order_by(Deal.close_date.is_(None), Deal.close_date, Deal.name, Deal.id)
        .offset(offset)
        .limit(limit)
    ).all()
    times = _activity_times(session, [row[0] for row in page], now)
    deals = tuple(
        DealRow(
            id=row[0],
            name=row[1],
            owner_id=row[2],
            owner_name=row[3],
            stage_id=row[4],
            stage_label=row[5],
            stage_state=StageState(row[6]),
            amount=row[7],
            currency=row[8],
            close_date=row[9],
            next_step=row[10],
            company=RecordRef(row[11], row[12]) if row[11] is not None else None,
            next_activity_at=times.get(row[0], (None, None))[0],
            last_activity_at=times.get(row[0], (None, None))[1],
        )
        for row in page
    )
    return DealPage(category, deals, total=total, offset=offset, limit=limit)


def category_counts(session: Session, viewer: User, *, now: datetime) -> dict[DealCategory, int]:
    """How many visible deals each category holds (the tab counts), in one query."""
    today = clock_for(session, viewer, now=now).today
    columns = [
        func.coalesce(
            func.sum(case((_category_clause(c, viewer, now=now, today=today), 1), else_=0)), 0
        )
        for c in DealCategory
    ]
    row = session.execute(
        visible_deals(viewer)
        .join(PipelineStage, PipelineStage.id == Deal.stage_id)
        .with_only_columns(*columns)
    ).one()
    return {category: int(row[index]) for index, category in enumerate(DealCategory)}


def no_activity_scheduled(
    session: Session, viewer: User, *, now: datetime, limit: int = 20
) -> DealPage:
    """The first page of "No activity scheduled" (open visible deals with nothing ahead)."""
    return deals_page(
        session, viewer, now=now, category=DealCategory.NO_ACTIVITY_SCHEDULED, limit=limit
    )
