"""Every view of the demo's busiest rep fits Slack's limits, page by page, nothing dropped."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from demo import DemoOrg
from handlers.render.kit import MAX_BLOCKS, Surface, block_problems
from handlers.render.navigation import View, ViewState
from handlers.render.workspace import render_workspace
from handlers.slack import ids
from storage.models import Activity, ActivityKind, User

FILTERS: dict[View, list[str]] = {
    View.OVERVIEW: [
        "",
        "closing",
        "prospecting",
        "i.meetings",
        "i.tasks_completed",
        "prospecting+i.calls_logged",
    ],
    View.TASKS: ["", "overdue", "today", "tomorrow", "completed"],
    View.DEALS: [
        "",
        "all",
        "mine",
        "no_activity_scheduled",
        "closing_this_month",
        "close_date_passed",
        "won",
        "lost",
    ],
    View.LEADS: ["", "open"],
    View.SCHEDULE: ["day", "week", "month"],
    View.FEED: ["", "email", "call", "meeting", "note", "enrolled", "email+not_enrolled"],
}
PAGE = re.compile(r"Page (\d+) of (\d+)")


def _all_pages(
    session: Session, viewer: User, state: ViewState, now: datetime, surface: Surface
) -> list[list[dict[str, Any]]]:
    pages = []
    number, count = 1, 1
    while number <= count:
        rendered = render_workspace(
            session, viewer=viewer, state=state.with_page(number), now=now, surface=surface
        )
        assert block_problems(rendered.blocks, surface=surface) == []
        assert len(rendered.blocks) <= MAX_BLOCKS[surface]
        found = PAGE.search(str(rendered.blocks))
        count = int(found.group(2)) if found else 1
        if found:
            assert int(found.group(1)) == number
        pages.append(rendered.blocks)
        number += 1
    return pages


@pytest.mark.parametrize("surface", ["home", "message"])
@pytest.mark.parametrize("view", list(View))
def test_every_view_and_filter_fits_on_every_page(
    demo: tuple[Engine, DemoOrg], view: View, surface: Surface
) -> None:
    engine, org = demo
    with Session(engine) as session:
        dana = session.get(User, org.rep_id)
        assert dana is not None
        for value in FILTERS[view]:
            _all_pages(session, dana, ViewState(view=view, filter=value), org.now, surface)


def test_the_tasks_view_pages_through_every_open_task(demo: tuple[Engine, DemoOrg]) -> None:
    engine, org = demo
    with Session(engine) as session:
        dana = session.get(User, org.rep_id)
        assert dana is not None
        pages = _all_pages(session, dana, ViewState(view=View.TASKS), org.now, "message")
        shown = [
            b["block_id"]
            for page in pages
            for b in page
            if re.fullmatch(r"task-\d+", b.get("block_id", ""))
        ]
        open_tasks = session.scalar(
            select(func.count())
            .select_from(Activity)
            .where(
                Activity.kind == ActivityKind.TASK,
                Activity.owner_id == dana.id,
                Activity.status != "completed",
                Activity.due_at.is_not(None),
            )
        )
        assert len(pages) > 1
        assert len(shown) == len(set(shown)) == open_tasks


def test_the_super_admin_sees_danas_meetings_as_busy(demo: tuple[Engine, DemoOrg]) -> None:
    engine, org = demo
    with Session(engine) as session:
        admin = session.get(User, org.admin_id)
        assert admin is not None
        state = ViewState(view=View.SCHEDULE, filter="week", subject_id=org.rep_id)
        pages = _all_pages(session, admin, state, org.now, "home")
        text = str(pages)
        assert "Busy" in text
        assert "meet.example" not in text and ids.MEETING_LOG_OUTCOME not in text
        assert f"viewing *{org.rep_name}*" in text


def test_every_users_overview_fits_the_home_tab(demo: tuple[Engine, DemoOrg]) -> None:
    engine, org = demo
    with Session(engine) as session:
        for user in session.scalars(select(User).where(User.is_active)):
            _all_pages(session, user, ViewState(), org.now, "home")


def test_every_element_carries_an_id_someone_listens_for(demo: tuple[Engine, DemoOrg]) -> None:
    """Navigation ids match the navigation listener; every other id is a shared constant."""
    from handlers.home import NAVIGATION

    shared = {value for name, value in vars(ids).items() if name.isupper()}
    engine, org = demo
    seen: set[str] = set()
    with Session(engine) as session:
        dana = session.get(User, org.rep_id)
        assert dana is not None
        for view, values in FILTERS.items():
            for value in values:
                for page in _all_pages(
                    session, dana, ViewState(view=view, filter=value), org.now, "home"
                ):
                    for block in page:
                        elements = [*block.get("elements", []), block.get("accessory") or {}]
                        seen.update(e["action_id"] for e in elements if "action_id" in e)
    assert seen
    for action_id in seen:
        assert NAVIGATION.match(action_id) or action_id in shared, action_id


def test_danas_guided_actions_are_on_her_overview(demo: tuple[Engine, DemoOrg]) -> None:
    engine, org = demo
    with Session(engine) as session:
        dana = session.get(User, org.rep_id)
        assert dana is not None
        pages = _all_pages(session, dana, ViewState(), org.now, "home")
        text = str(pages)
        assert "*Guided actions*" in text
        for action_id in (ids.ACTION_QUEUE_START, ids.ACTION_DISMISS, ids.ACTION_FEEDBACK):
            assert f"'{action_id}'" in text
        assert "Yes, keep it up!" in text and "Not really" in text
        closing = str(_all_pages(session, dana, ViewState(filter="closing"), org.now, "home"))
        assert "closing-related" in closing


def test_another_viewer_sees_meeting_actions_as_busy(demo: tuple[Engine, DemoOrg]) -> None:
    engine, org = demo
    with Session(engine) as session:
        admin = session.get(User, org.admin_id)
        assert admin is not None
        rep = session.get_one(User, org.rep_id)
        own = str(_all_pages(session, rep, ViewState(), org.now, "home"))
        seen = str(_all_pages(session, admin, ViewState(subject_id=org.rep_id), org.now, "home"))
        assert "Log the outcome of" in own
        assert "meet.example" not in seen
        meeting_items = re.findall(r"ga-\d+-item-\d+", own)
        assert meeting_items  # Dana's bundles list their items...
        assert "• Busy" in seen  # ...which another viewer sees as Busy where they are meetings
