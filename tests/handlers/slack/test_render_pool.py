"""Rendering in worker processes gives exactly what rendering in-process gives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from demo import DemoOrg
from handlers.render.navigation import View, ViewState
from handlers.slack import ids
from tests.support.app import start_app
from tests.support.slack_api import SlackStandIn


def test_views_rendered_in_processes_match_in_process_ones(
    sqlite_engine: Engine, slack: SlackStandIn, demo_org: DemoOrg, now: datetime
) -> None:
    user = demo_org.rep_slack_user_id
    published: dict[int, list[dict[str, Any]]] = {}
    for processes in (0, 1):
        slack.clear()
        with start_app(sqlite_engine, slack, clock=lambda: now, render_processes=processes) as app:
            app.open_home(user, event_id=f"Ev{processes}")
            app.block_action(
                user_id=user,
                action_id=f"{ids.HOME_NAV}:deals",
                value=ViewState(view=View.DEALS).encode(),
            )
            # A tampered state is refused the same way.
            app.block_action(user_id=user, action_id=f"{ids.HOME_NAV}:deals", value="deals:1:zz:")
            published[processes] = [c.json_param("view") for c in slack.calls_to("views.publish")]
    assert len(published[1]) == 3
    assert published[0] == published[1]
