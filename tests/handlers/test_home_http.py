"""The demo rep's Home tab and /sales answers, end to end through HTTP."""

from __future__ import annotations

import pytest

from demo import DemoOrg
from handlers.render.kit import block_problems
from handlers.render.navigation import View, ViewState
from handlers.slack import ids
from tests.handlers.conftest import TRANSPORTS
from tests.support.app import RunningApp

# The same scenarios over HTTP and over Socket Mode: what the user sees must not differ.
pytestmark = pytest.mark.parametrize("transport", TRANSPORTS, indirect=True)


def test_opening_the_home_tab_publishes_danas_workspace(
    running_app: RunningApp, demo_org: DemoOrg
) -> None:
    running_app.open_home(demo_org.rep_slack_user_id)
    view = running_app.published_home(demo_org.rep_slack_user_id)
    assert block_problems(view["blocks"], surface="home") == []
    text = str(view["blocks"])
    assert "Overdue: " in text and "Today's meetings" in text and "Goals this week" in text
    complete = [
        b["elements"][0]
        for b in view["blocks"]
        if b["type"] == "actions" and b["elements"][0].get("action_id") == ids.TASK_COMPLETE
    ]
    assert complete and all(button["value"].isdigit() for button in complete)


def test_paging_through_tasks_on_the_home_tab(running_app: RunningApp, demo_org: DemoOrg) -> None:
    user = demo_org.rep_slack_user_id
    running_app.block_action(
        user_id=user, action_id=f"{ids.HOME_NAV}:tasks", value=ViewState(view=View.TASKS).encode()
    )
    first = running_app.published_home(user)
    next_button = next(
        e
        for b in first["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == f"{ids.HOME_PAGE}:next"
    )
    running_app.block_action(
        user_id=user, action_id=next_button["action_id"], value=next_button["value"]
    )
    second = running_app.published_home(user)
    assert "Page 2 of" in str(second["blocks"])
    assert ViewState.decode(second["private_metadata"]).page == 2
    assert block_problems(second["blocks"], surface="home") == []


def test_choosing_a_deal_category_shows_no_activity_scheduled(
    running_app: RunningApp, demo_org: DemoOrg
) -> None:
    user = demo_org.rep_slack_user_id
    base = ViewState(view=View.DEALS).encode()
    running_app.block_action(
        user_id=user,
        action_id=f"{ids.HOME_FILTER}:category",
        selected_option=f"{base}|no_activity_scheduled",
    )
    view = running_app.published_home(user)
    assert ViewState.decode(view["private_metadata"]).filter == "no_activity_scheduled"
    assert "No activity scheduled: " in str(view["blocks"])


def test_sales_schedule_week_answers_within_message_limits(
    running_app: RunningApp, demo_org: DemoOrg
) -> None:
    running_app.slash("schedule week", user_id=demo_org.rep_slack_user_id)
    (answer,) = running_app.responses()
    assert answer["blocks"][0]["text"]["text"] == "Schedule"
    assert block_problems(answer["blocks"], surface="message") == []
    assert "tasks due" in str(answer["blocks"])


def test_an_unknown_filter_gets_help(running_app: RunningApp, demo_org: DemoOrg) -> None:
    running_app.slash("deals shiny", user_id=demo_org.rep_slack_user_id)
    (answer,) = running_app.responses()
    assert answer["text"].startswith("I can't show that.")
    assert "/sales deals" in answer["text"]


def test_clicking_an_insight_number_lists_what_it_counts(
    running_app: RunningApp, demo_org: DemoOrg
) -> None:
    user = demo_org.rep_slack_user_id
    running_app.open_home(user)
    home = running_app.published_home(user)
    number = next(
        e
        for b in home["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith(f"{ids.HOME_FILTER}:i.")
    )
    answer = running_app.block_action(
        user_id=user, action_id=number["action_id"], value=number["value"]
    )
    assert answer.status == 200
    shown = running_app.published_home(user)
    assert ViewState.decode(shown["private_metadata"]).filter.startswith("i.")
    label = number["text"]["text"].split(":")[0]
    assert f"*{label}*" in str(shown["blocks"])
