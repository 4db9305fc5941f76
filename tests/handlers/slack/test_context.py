"""Who is acting is looked up once per request, whatever the listener does with it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from handlers.slack import ids
from tests.builders import CRM
from tests.support.app import RunningApp


def test_an_unlinked_users_click_asks_slack_about_them_once(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    owner = crm.user(slack_user_id="UDANA")
    task = crm.task(owner)
    session.commit()

    running_app.block_action(user_id="USTRANGER", action_id=ids.TASK_COMPLETE, value=str(task.id))
    running_app.settle()

    # The write is refused and the Home tab explains why: two steps, one users.info.
    assert "couldn't find your CRM account" in str(running_app.published_home("USTRANGER"))
    assert len(running_app.slack.calls_to("users.info", ok_only=False)) == 1
