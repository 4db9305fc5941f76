"""An app with the button listeners, signed requests into it, and a stand-in Slack."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.settings import Settings
from handlers import register_all
from handlers.services import Services
from storage.db import session_factory
from tests.builders import CRM
from tests.support.signing import interaction_body, signed_headers
from tests.support.slack_api import SlackStandIn, running_standin

SECRET = "test-signing-secret"


@dataclass
class Slack:
    """The app under test, the stand-in Web API it calls, and a way to click."""

    app: App
    api: SlackStandIn
    sessions: Any

    def post(self, payload: dict[str, Any], *, timestamp: int | None = None) -> BoltResponse:
        body = interaction_body(payload)
        headers = signed_headers(SECRET, body, timestamp=timestamp)
        return self.app.dispatch(
            BoltRequest(body=body, headers={k: [v] for k, v in headers.items()})
        )


@pytest.fixture(scope="module")
def _module_standin() -> Iterator[SlackStandIn]:
    with running_standin() as api:
        yield api


@pytest.fixture
def standin(_module_standin: SlackStandIn) -> SlackStandIn:
    """The stand-in Slack, with no calls recorded yet (one server per test module)."""
    _module_standin.clear()
    return _module_standin


@pytest.fixture
def slack(sqlite_engine: Engine, standin: SlackStandIn, now: datetime) -> Slack:
    settings = Settings(slack_api_url=standin.api_url)  # type: ignore[call-arg]
    sessions = session_factory(sqlite_engine)
    app = App(
        signing_secret=SECRET,
        client=WebClient(token="xoxb-test", base_url=standin.api_url),
        token_verification_enabled=False,
        # The listener runs before the HTTP answer: tests see its effects when dispatch returns.
        process_before_response=True,
    )
    register_all(app, Services(sessions=sessions, settings=settings, clock=lambda: now))
    return Slack(app=app, api=standin, sessions=sessions)


@pytest.fixture
def db(slack: Slack, now: datetime) -> Iterator[tuple[Session, CRM]]:
    """A session on the app's database and builders; commit before clicking."""
    session = slack.sessions()
    try:
        yield session, CRM(session, now)
    finally:
        session.close()


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


def ack_body(response: BoltResponse) -> dict[str, Any]:
    return json.loads(response.body) if response.body else {}
