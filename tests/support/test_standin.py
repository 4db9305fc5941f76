"""The stand-in itself: Slack's client talks to it, and it limits like Slack."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.support.slack_api import running_standin


def test_records_calls_and_answers_like_slack() -> None:
    with running_standin() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.api_url)
        sent = client.chat_postMessage(channel="D123", text="hi", blocks=[{"type": "divider"}])
        assert sent["ok"] and sent["ts"]
        (call,) = slack.calls_to("chat.postMessage")
        assert call.params["channel"] == "D123"
        assert call.json_param("blocks") == [{"type": "divider"}]
        assert call.headers["authorization"] == "Bearer xoxb-test"


def test_failures_and_rate_limits() -> None:
    with running_standin() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.api_url)
        slack.fail("chat.postMessage", "channel_not_found")
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel="C404", text="x")
        assert raised.value.response["error"] == "channel_not_found"

        slack.rate_limit("chat.postMessage", per_second=1, burst=1, per="channel")
        client.chat_postMessage(channel="C1", text="first")
        with pytest.raises(SlackApiError) as limited:
            client.chat_postMessage(channel="C1", text="second")
        assert limited.value.response.status_code == 429
        assert limited.value.response.headers["Retry-After"] == "1"
        client.chat_postMessage(channel="C2", text="other channel is fine")

        retrying = WebClient(
            token="xoxb-test",
            base_url=slack.api_url,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
        )
        assert retrying.chat_postMessage(channel="C1", text="after waiting")["ok"]
