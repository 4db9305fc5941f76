"""Signing requests the way Slack does, for tests that go through the real endpoint."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier


def signed_headers(
    secret: str,
    body: str,
    *,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers Slack would send with ``body``: ``X-Slack-Signature`` over ``v0:ts:body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None  # None only without a secret
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


def slash_command_body(
    command: str,
    text: str,
    *,
    user_id: str,
    response_url: str,
    channel_id: str = "C0TEST",
    team_id: str = "T0STANDIN",
    trigger_id: str = "111.222.abc",
) -> str:
    return urlencode(
        {
            "token": "legacy-unused",
            "team_id": team_id,
            "channel_id": channel_id,
            "user_id": user_id,
            "command": command,
            "text": text,
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def interaction_body(payload: dict[str, Any]) -> str:
    """Interactivity posts ``payload=<url-quoted JSON>``."""
    return urlencode({"payload": json.dumps(payload)})


def event_body(
    event: dict[str, Any], *, event_id: str = "Ev0001", team_id: str = "T0STANDIN"
) -> str:
    return json.dumps(
        {
            "token": "legacy-unused",
            "team_id": team_id,
            "api_app_id": "A0TEST",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
        }
    )
