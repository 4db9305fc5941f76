"""Guided-action buttons through signed requests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.render.kit import actions, button, section
from handlers.slack import ids
from rules.guided_actions import evaluate
from storage.models import ActionFeedback, ActionState, GuidedAction
from tests.builders import CRM
from tests.handlers.payloads import block_action, send
from tests.support.app import RunningApp


def _suggestion(action_id: int, item_id: int) -> list[dict[str, Any]]:
    return [
        section("Log the outcome of 1 call", block_id=f"ga:{action_id}"),
        *actions(
            [
                button("✓", action_id=ids.ACTION_ITEM_DONE, value=f"{action_id}:{item_id}"),
                button("Dismiss", action_id=ids.ACTION_DISMISS, value=str(action_id)),
            ],
            block_id=f"ga:{action_id}:buttons",
        ),
    ]


def _click(
    app: RunningApp,
    user: str,
    action_id: str,
    value: str,
    blocks: list[Any],
    block_id: str,
    **kw: Any,
) -> None:
    send(
        app,
        block_action(
            user_id=user,
            action_id=action_id,
            value=value,
            block_id=block_id,
            blocks=blocks,
            response_url=app.slack.response_url("msg"),
            **kw,
        ),
    )


def test_check_mark_feedback_and_a_forged_action_id(
    running_app: RunningApp, session: Session, crm: CRM, now: Any
) -> None:
    ana = crm.user(name="Ana", slack_user_id="UANA")
    ben = crm.user(name="Ben", slack_user_id="UBEN")
    crm.call(ana)
    crm.call(ben)
    evaluate(session, now=now)
    session.commit()
    mine, bens = (
        session.scalars(select(GuidedAction).where(GuidedAction.user_id == user.id)).one()
        for user in (ana, ben)
    )
    message = _suggestion(mine.id, mine.items[0].id)

    # Ana clicks Dismiss with Ben's action id in the value.
    _click(running_app, "UANA", ids.ACTION_DISMISS, str(bens.id), message, f"ga:{mine.id}:buttons")
    [refused] = running_app.slack.wait_for("response_url")
    assert "You can't change someone else's suggestions." in refused.params["text"]

    _click(
        running_app,
        "UANA",
        ids.ACTION_FEEDBACK,
        f"{mine.id}:yes",
        message,
        f"ga:{mine.id}",
        selected=True,
    )
    _click(
        running_app,
        "UANA",
        ids.ACTION_ITEM_DONE,
        f"{mine.id}:{mine.items[0].id}",
        message,
        f"ga:{mine.id}:buttons",
    )

    thanks, checked = running_app.slack.wait_for("chat.update", 2)
    assert "Thanks! You'll keep seeing suggestions like this." in str(thanks.params["blocks"])
    assert "Log the outcome of 1 call" in str(thanks.params["blocks"])  # the suggestion stays
    assert "Done: item checked off, and that was the last one." in str(checked.params["blocks"])
    session.expire_all()
    assert session.get_one(GuidedAction, mine.id).state is ActionState.DONE
    assert session.get_one(GuidedAction, bens.id).state is ActionState.OPEN
    assert [f.helpful for f in session.scalars(select(ActionFeedback))] == [True]


def test_the_queue_walks_through_an_actions_items(
    running_app: RunningApp, session: Session, crm: CRM, now: Any
) -> None:
    ana = crm.user(name="Ana", slack_user_id="UANA")
    first = crm.call(ana, subject="Call Acme", starts_at=now - timedelta(hours=3))
    second = crm.call(ana, subject="Call Globex", starts_at=now - timedelta(hours=2))
    evaluate(session, now=now)
    session.commit()
    action = session.scalars(select(GuidedAction).where(GuidedAction.user_id == ana.id)).one()
    assert len(action.items) == 2  # "Log call outcome" bundles a user's calls

    _click(running_app, "UANA", ids.ACTION_QUEUE_START, str(action.id), [], "b")
    view = running_app.slack.wait_for("views.open")[0].json_param("view")
    assert "Item 1 of 2" in str(view["blocks"]) and "Call Acme" in str(view["blocks"])

    def click_in_queue(action_id: str, value: str, current: dict[str, Any]) -> dict[str, Any]:
        running_app.slack.clear()
        send(
            running_app,
            block_action(
                user_id="UANA",
                action_id=action_id,
                value=value,
                block_id="gaq",
                container="view",
                view={**current, "id": "VQ"},
            ),
        )
        [update] = running_app.slack.wait_for("views.update")
        view: dict[str, Any] = update.json_param("view")
        return view

    items = {item.object_id: item.id for item in action.items}
    view = click_in_queue(ids.ACTION_ITEM_DONE, f"{action.id}:{items[first.id]}", view)
    assert "Done: item checked off." in str(view["blocks"])
    assert "Item 2 of 2" in str(view["blocks"]) and "Call Globex" in str(view["blocks"])
    view = click_in_queue(ids.ACTION_ITEM_DONE, f"{action.id}:{items[second.id]}", view)
    assert "that was the last one" in str(view["blocks"])
    assert "Nothing left in this suggestion's list." in str(view["blocks"])
    session.expire_all()
    assert session.get_one(GuidedAction, action.id).state is ActionState.DONE
