"""Slack payloads for button clicks and form submissions, as Slack sends them."""

from __future__ import annotations

import time
from typing import Any

from tests.support.app import HttpAnswer, RunningApp
from tests.support.signing import interaction_body


def block_action(
    *,
    user_id: str,
    action_id: str,
    value: str,
    block_id: str,
    container: str = "message",
    blocks: list[dict[str, Any]] | None = None,
    view: dict[str, Any] | None = None,
    response_url: str = "",
    selected: bool = False,
) -> dict[str, Any]:
    """A ``block_actions`` payload as Slack sends it for one click."""
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": "overflow" if selected else "button",
        "action_ts": str(time.time()),
    }
    if selected:
        action["selected_option"] = {"text": {"type": "plain_text", "text": "x"}, "value": value}
    else:
        action["value"] = value
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id, "team_id": "T0STANDIN"},
        "api_app_id": "A0TEST",
        "team": {"id": "T0STANDIN", "domain": "standin"},
        "trigger_id": "111.222.trigger",
        "actions": [action],
    }
    if container == "message":
        payload["container"] = {
            "type": "message",
            "message_ts": "1700000000.000100",
            "channel_id": "D0TEST",
        }
        payload["channel"] = {"id": "D0TEST", "name": "directmessage"}
        payload["message"] = {"ts": "1700000000.000100", "blocks": blocks or [], "text": "x"}
        payload["response_url"] = response_url
    else:
        payload["container"] = {"type": "view", "view_id": (view or {}).get("id", "V1")}
        payload["view"] = view or {}
    return payload


def view_submission(
    *, user_id: str, view: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    """A ``view_submission`` of ``view`` (as we rendered it) with the form's ``values``."""
    submitted = {**view, "id": "V0SUBMIT", "state": {"values": values}}
    return {
        "type": "view_submission",
        "user": {"id": user_id, "username": user_id, "team_id": "T0STANDIN"},
        "api_app_id": "A0TEST",
        "team": {"id": "T0STANDIN", "domain": "standin"},
        "trigger_id": "111.222.trigger",
        "view": submitted,
    }


def send(app: RunningApp, payload: dict[str, Any], **kw: Any) -> HttpAnswer:
    """Post ``payload`` signed to the app's endpoint and wait for the work after the ack."""
    return app.post_signed(interaction_body(payload), **kw)


def acked(response: HttpAnswer) -> dict[str, Any]:
    """The JSON the app acknowledged with ({} for an empty ack)."""
    assert response.status == 200, response
    return response.json() if response.body else {}
