"""An open Home tab follows the guided actions that time brings, without a click."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from demo import DemoOrg
from handlers.render.navigation import ViewState
from handlers.slack.home_tab import republish_open_homes
from rules.guided_actions.timing import tick
from storage.models import User
from tests.builders import CRM
from tests.support.app import RunningApp


def _open_home_on_actions(app: RunningApp, user: str) -> str:
    """Open the Home tab on the overview page that lists the guided actions; its text."""
    for page in range(1, 6):
        state = ViewState(page=page).encode()
        event = {"type": "app_home_opened", "user": user, "tab": "home"}
        app.event({**event, "view": {"private_metadata": state}}, event_id=f"EvHome{page}")
        app.settle()
        text = str(app.published_home(user)["blocks"])
        if "Guided actions" in text:
            return text
    raise AssertionError("no page of the overview lists the guided actions")


def _action_count(text: str) -> int:
    found = re.search(r"Guided actions\* \((\d+),", text)
    assert found, "no guided actions panel"
    return int(found.group(1))


def test_an_open_home_tab_is_republished_when_a_meeting_starts(
    running_app: RunningApp, demo_org: DemoOrg, sqlite_engine: Engine, now: datetime
) -> None:
    user = demo_org.rep_slack_user_id
    with Session(sqlite_engine) as session:
        dana = session.get(User, demo_org.rep_id)
        CRM(session, now).meeting(dana, starts_at=now + timedelta(minutes=10), subject="Kickoff")
        tick(session, now=now)  # first start: a full pass
        session.commit()
    before = _action_count(_open_home_on_actions(running_app, user))
    running_app.slack.clear()

    with Session(sqlite_engine) as session:
        done = tick(session, now=now + timedelta(minutes=10, seconds=20))
        session.commit()
    assert done is not None and demo_org.rep_id in done.report.users
    assert republish_open_homes(running_app.services, running_app.app.client, done.report.users)

    after = str(running_app.published_home(user)["blocks"])
    # "Follow up on your meeting" appeared as the meeting started, on the tab Dana has open.
    assert _action_count(after) == before + 1


def test_a_home_tab_never_opened_is_left_alone(running_app: RunningApp, demo_org: DemoOrg) -> None:
    assert (
        republish_open_homes(running_app.services, running_app.app.client, {demo_org.rep_id}) == 0
    )
    assert running_app.slack.calls_to("views.publish") == []
