"""JSON logs: one object per line, and the request id follows the work after the ack."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from bot.logs import configure_logging
from handlers.slack import ids
from tests.builders import CRM
from tests.support.app import RunningApp


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(level="DEBUG", log_format="json", stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
        root.setLevel(level)


def test_a_request_id_follows_the_work_after_the_ack(
    running_app: RunningApp, crm: CRM, session: Session, json_log: io.StringIO
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    running_app.slack.fail("views.publish", "internal_error")
    running_app.block_action(user_id="UDANA", action_id=f"{ids.HOME_NAV}:tasks", value="tasks:1::")
    records = [json.loads(line) for line in json_log.getvalue().splitlines()]
    failure = next(r for r in records if r["message"].startswith("failed after ack"))
    assert failure["level"] == "ERROR" and "internal_error" in failure["error"]
    assert failure["request_id"] != "-"
    # Bolt's lines while acknowledging (the request's thread) carry the same id as the
    # failure in the work after the ack (a work pool thread).
    same = [r for r in records if r["request_id"] == failure["request_id"]]
    assert any(r["logger"] == "salesbot.slack" for r in same)
    assert all(set(r) >= {"time", "level", "logger", "message"} for r in records)


def test_metrics_count_acks_and_home_publishes(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    def scrape() -> dict[tuple[str, str], float]:
        answer = running_app.request("GET", "/metrics")
        assert answer.status == 200
        return {
            (s.name, s.labels.get("kind", s.labels.get("outcome", ""))): s.value
            for family in text_string_to_metric_families(answer.body)
            for s in family.samples
        }

    crm.user(slack_user_id="UDANA")
    session.commit()
    before = scrape()
    running_app.open_home("UDANA")
    running_app.slash("help", user_id="UDANA")
    after = scrape()

    def grew(key: tuple[str, str]) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew(("salesbot_ack_seconds_count", "events_api")) == 1
    assert grew(("salesbot_ack_seconds_count", "slash_commands")) == 1
    assert grew(("salesbot_home_publishes_total", "published")) == 1
    assert after[("salesbot_work_queue_depth", "")] == 0
    assert after[("salesbot_database_up", "")] == 1
