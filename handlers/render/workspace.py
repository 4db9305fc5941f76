"""Rendering one workspace view for a viewer: authorise, ask the domain, render.

The Home tab, ``/sales`` answers and the buttons' refreshes all call ``render_workspace``.
Each view's filter is a short token carried in ``ViewState.filter`` and parsed here; a
token this module does not know is refused (``BadState``), never guessed at.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from handlers.i18n import SOURCE_LANGUAGE, _
from handlers.i18n.formats import first_weekday
from handlers.i18n.users import speaking_to
from handlers.render import views as render
from handlers.render.actions import CATEGORY_LABELS, actions_panel
from handlers.render.frame import frame
from handlers.render.kit import Block, Surface
from handlers.render.navigation import VIEW_LABELS, BadState, View, ViewState
from rules.clock import clock_for
from rules.deals.queries import DealCategory, category_counts, deals_page
from rules.guided_actions import open_actions
from rules.leads.queries import leads_by_stage
from rules.permissions import can_act_for, can_view_workspace
from rules.tasks.queries import (
    TaskBucket,
    TaskFilters,
    TaskPage,
    bucket_named,
    open_tasks,
    recently_completed_tasks,
)
from rules.workspace.feed import FeedFilters, SequenceFilter, feed
from rules.workspace.overview import INSIGHT_METRICS, WeeklyMetric, insight_records, overview
from rules.workspace.schedule import SchedulePeriod, schedule
from storage.models import ActivityKind, User

# Rows per page for the views the domain pages itself; each row takes at most 2 blocks, so a
# page fits a message (50 blocks) with the frame around it.
TASKS_PER_PAGE = 20
DEALS_PER_PAGE = 20
FEED_CONTACTS_PER_PAGE = 10
# Leads are listed whole (paged here, never cut): far more than any one rep owns.
LEADS_PER_STAGE = 1000

DEAL_ALIASES = {"no_activity": DealCategory.NO_ACTIVITY_SCHEDULED.value}


class AccessDenied(PermissionError):
    """The viewer may not see the workspace they asked for."""


class UnknownSubject(LookupError):
    """The workspace asked for belongs to no (active) user."""


@dataclass(frozen=True)
class RenderedView:
    blocks: list[Block]
    state: ViewState  # with the page actually shown
    text: str  # notification fallback text


@dataclass(frozen=True)
class _Context:
    session: Session
    viewer: User
    subject: User
    state: ViewState
    now: datetime
    surface: Surface

    @property
    def is_own(self) -> bool:
        return self.viewer.id == self.subject.id

    @property
    def can_act(self) -> bool:
        return can_act_for(self.session, self.viewer, self.subject.id)


@dataclass(frozen=True)
class _Body:
    """What a view contributes to the frame."""

    groups: list[list[Block]]
    top: list[Block]
    title: str
    page: tuple[int, int] | None = None  # (number, count) when the domain paged it
    empty_text: str | None = None  # the frame's "Nothing here." when None


def render_workspace(
    session: Session,
    *,
    viewer: User,
    state: ViewState,
    now: datetime,
    surface: Surface,
    notice: Block | None = None,
    default_language: str = SOURCE_LANGUAGE,
) -> RenderedView:
    """Render ``state`` for ``viewer`` on ``surface`` ("home": 100 blocks, "message": 50).

    In the viewer's language (``handlers.i18n.users``; ``default_language`` when they have
    none we speak).

    Raises:
        AccessDenied: If the state names another user's workspace the viewer may not see.
        UnknownSubject: If that user does not exist or is deactivated.
        BadState: If the state's filter is not one this view knows.

    ``notice`` is a line under the header saying what a button just did.
    """
    with speaking_to(session, user_id=viewer.id, default=default_language):
        return _render(session, viewer=viewer, state=state, now=now, surface=surface, notice=notice)


def _render(
    session: Session,
    *,
    viewer: User,
    state: ViewState,
    now: datetime,
    surface: Surface,
    notice: Block | None,
) -> RenderedView:
    subject = _subject(session, viewer, state)
    context = _Context(session, viewer, subject, state, now, surface)
    body = _VIEWS[state.view](context)
    blocks, number, _count = frame(
        title=body.title,
        state=state,
        groups=body.groups,
        surface=surface,
        top=body.top,
        subject_name=None if context.is_own else subject.name,
        empty_text=body.empty_text,
        page=body.page,
        notice=notice,
    )
    return RenderedView(blocks=blocks, state=state.with_page(number), text=body.title)


def _subject(session: Session, viewer: User, state: ViewState) -> User:
    if not viewer.is_active:
        raise AccessDenied(viewer.id)
    if state.subject_id is None or state.subject_id == viewer.id:
        return viewer
    subject = session.get(User, state.subject_id)
    if subject is None or not subject.is_active:
        raise UnknownSubject(state.subject_id)
    if not can_view_workspace(session, viewer=viewer, owner=subject):
        raise AccessDenied(state.subject_id)
    return subject


def _pages(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


def _offset(state: ViewState, total_pages: int, per_page: int) -> tuple[int, int]:
    number = min(state.page, total_pages)
    return number, (number - 1) * per_page


# Views -----------------------------------------------------------------------------------


def _overview(c: _Context) -> _Body:
    category, metric = _overview_filter(c.state.filter)
    # "This week" starts where the reader's locale starts it (CLDR: Monday, or Sunday...).
    week_from = first_weekday()
    view = overview(c.session, c.subject, now=c.now, viewer=c.viewer, first_weekday=week_from)
    records = (
        insight_records(c.session, c.subject, metric, now=c.now, first_weekday=week_from)
        if metric
        else None
    )
    suggestions = open_actions(c.session, user_id=c.subject.id, now=c.now, category=category)
    panel = actions_panel(
        suggestions,
        state=c.state,
        category=category,
        other_filters=f"i.{metric.value}" if metric else "",
        can_act=c.can_act,
        is_own=c.is_own,
    )
    top, groups = render.overview_blocks(
        view,
        state=c.state,
        now=c.now,
        can_act=c.can_act,
        metric=metric,
        records=records,
        actions_panel=panel,
    )
    return _Body(groups=groups, top=top, title=_title(c, VIEW_LABELS[View.OVERVIEW]))


def _overview_filter(value: str) -> tuple[str, WeeklyMetric | None]:
    """Overview filter: "<actions category>" and/or "i.<metric>", joined by "+"."""
    category, metric = "all", None
    for token in filter(None, value.split("+")):
        if token in CATEGORY_LABELS:
            category = token
        elif token.startswith("i.") and token[2:] in {m.value for m in INSIGHT_METRICS}:
            metric = WeeklyMetric(token[2:])
        else:
            raise BadState(f"unknown overview filter {token!r}")
    return category, metric


def _tasks(c: _Context) -> _Body:
    completed = c.state.filter == render.COMPLETED_TASKS
    bucket = None if completed else _tasks_filter(c.state.filter)
    filters = TaskFilters(bucket=bucket)

    def tasks(offset: int, limit: int) -> TaskPage:
        if completed:
            return recently_completed_tasks(
                c.session, c.subject, now=c.now, offset=offset, limit=limit
            )
        return open_tasks(
            c.session, c.subject, now=c.now, filters=filters, offset=offset, limit=limit
        )

    count = _pages(tasks(0, 1).total, TASKS_PER_PAGE)
    number, offset = _offset(c.state, count, TASKS_PER_PAGE)
    page = tasks(offset, TASKS_PER_PAGE)
    current = render.COMPLETED_TASKS if completed else (bucket.value if bucket else "all")
    top, groups = render.tasks_blocks(page, state=c.state, current=current, can_act=c.can_act)
    empty = _("No tasks completed in the last 7 days.") if completed else None
    return _Body(
        groups=groups,
        top=top,
        title=_title(c, VIEW_LABELS[View.TASKS]),
        page=(number, count),
        empty_text=empty or _("No open tasks here. :tada:"),
    )


def _tasks_filter(value: str) -> TaskBucket | None:
    if not value or value == "all":
        return None
    try:
        return bucket_named(value)
    except ValueError:
        raise BadState(f"unknown task filter {value!r}") from None


def _deals(c: _Context) -> _Body:
    category = _deals_filter(c.state.filter)
    counts = category_counts(c.session, c.subject, now=c.now)
    total = counts.get(category, 0)
    count = _pages(total, DEALS_PER_PAGE)
    number, offset = _offset(c.state, count, DEALS_PER_PAGE)
    page = deals_page(
        c.session, c.subject, now=c.now, category=category, offset=offset, limit=DEALS_PER_PAGE
    )
    zone = clock_for(c.session, c.subject, now=c.now).zone
    top, groups = render.deals_blocks(
        page, counts=counts, state=c.state, can_act=c.can_act, zone=zone
    )
    return _Body(
        groups=groups,
        top=top,
        title=_title(c, VIEW_LABELS[View.DEALS]),
        page=(number, count),
        empty_text=_("No deals in this category."),
    )


def _deals_filter(value: str) -> DealCategory:
    value = DEAL_ALIASES.get(value, value)
    if not value:
        return DealCategory.OPEN
    try:
        return DealCategory(value)
    except ValueError:
        raise BadState(f"unknown deal category {value!r}") from None


def _leads(c: _Context) -> _Body:
    if c.state.filter not in ("", "all", "open"):
        raise BadState(f"unknown leads filter {c.state.filter!r}")
    board = leads_by_stage(
        c.session,
        c.subject,
        include_closed=c.state.filter != "open",
        per_stage=LEADS_PER_STAGE,
    )
    top, groups = render.leads_blocks(board, state=c.state, now=c.now)
    return _Body(
        groups=groups,
        top=top,
        title=_title(c, VIEW_LABELS[View.LEADS]),
        empty_text=_("No leads."),
    )


def _schedule(c: _Context) -> _Body:
    try:
        period = SchedulePeriod(c.state.filter or SchedulePeriod.DAY.value)
    except ValueError:
        raise BadState(f"unknown schedule period {c.state.filter!r}") from None
    plan = schedule(
        c.session,
        c.subject,
        now=c.now,
        period=period,
        viewer=c.viewer,
        first_weekday=first_weekday(),
    )
    top, groups = render.schedule_blocks(plan, state=c.state, now=c.now, can_act=c.can_act)
    return _Body(
        groups=groups,
        top=top,
        title=_title(c, VIEW_LABELS[View.SCHEDULE]),
        empty_text=_("Nothing on the calendar and no tasks due in this period."),
    )


def _feed(c: _Context) -> _Body:
    filters = _feed_filter(c.state.filter)
    first = feed(c.session, c.subject, now=c.now, filters=filters, limit=1, viewer=c.viewer)
    count = _pages(first.total_contacts, FEED_CONTACTS_PER_PAGE)
    number, offset = _offset(c.state, count, FEED_CONTACTS_PER_PAGE)
    page = feed(
        c.session,
        c.subject,
        now=c.now,
        filters=filters,
        offset=offset,
        limit=FEED_CONTACTS_PER_PAGE,
        viewer=c.viewer,
    )
    top, groups = render.feed_blocks(page, state=c.state, filters=filters)
    return _Body(
        groups=groups,
        top=top,
        title=_title(c, VIEW_LABELS[View.FEED]),
        page=(number, count),
        empty_text=_("No activity with your contacts in the last year."),
    )


def _feed_filter(value: str) -> FeedFilters:
    """Feed filter: an activity kind and/or a sequence filter, joined by "+"."""
    kinds: frozenset[ActivityKind] | None = None
    sequence = SequenceFilter.ANY
    for token in filter(None, value.split("+")):
        if token in {k.value for k in ActivityKind}:
            kinds = frozenset({ActivityKind(token)})
        elif token in {s.value for s in SequenceFilter}:
            sequence = SequenceFilter(token)
        else:
            raise BadState(f"unknown feed filter {token!r}")
    return FeedFilters(kinds=kinds, sequence=sequence)


def _title(c: _Context, label: str) -> str:
    return _(label) if c.is_own else f"{_(label)}: {c.subject.name}"


_VIEWS: dict[View, Callable[[_Context], _Body]] = {
    View.OVERVIEW: _overview,
    View.TASKS: _tasks,
    View.DEALS: _deals,
    View.LEADS: _leads,
    View.SCHEDULE: _schedule,
    View.FEED: _feed,
}
