"""``salesbot digest preview|send`` against a real database file and the stand-in Slack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bot.cli import app
from storage.models import DigestDelivery, Role
from tests.builders import CRM
from tests.support.slack_api import SlackStandIn, running_standin

NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture
def slack(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandIn]:
    with running_standin() as standin:
        monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string())
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
        monkeypatch.setenv("SLACK_API_URL", standin.api_url)
        yield standin


@pytest.fixture
def org(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        crm = CRM(session, NOW)
        team = crm.team(name="West", timezone="America/Los_Angeles", digest_channel_id="CWEST")
        crm.user(team_id=team.id, role=Role.MANAGER, slack_user_id="UMGR")
        ana = crm.user(
            name="Ana Lopez",
            email="ana@seller.example",
            slack_user_id="UANA",
            timezone="America/Los_Angeles",
            team_id=team.id,
        )
        crm.task(ana, due_at=NOW + timedelta(hours=2), subject="Call Bo back")
        crm.user(name="Quiet", slack_user_id="UQUIET", team_id=team.id)
        session.commit()


def test_preview_prints_the_digest_without_sending(slack: SlackStandIn, org: None) -> None:
    result = runner.invoke(
        app, ["digest", "preview", "--user", "ana@seller.example", "--at", "2026-03-11T08:30-07:00"]
    )
    assert result.exit_code == 0, result.output
    assert "Good morning, Ana" in result.output
    assert "Call Bo back" in result.output and "[Complete]" in result.output
    assert slack.calls_to("chat.postMessage") == []

    as_json = runner.invoke(
        app, ["digest", "preview", "--user", "UANA", "--at", "2026-03-11T15:30Z", "--json"]
    )
    payload = json.loads(as_json.output)
    assert payload["channel"] == "UANA"
    assert "Call Bo back" in json.dumps(payload["blocks"])


def test_preview_of_a_team_digest(slack: SlackStandIn, org: None) -> None:
    result = runner.invoke(
        app, ["digest", "preview", "--team", "West", "--at", "2026-03-11T15:30Z"]
    )
    assert result.exit_code == 0, result.output
    assert "@UANA" in result.output and "Due today: 1" in result.output


def test_bad_input_is_refused_plainly(slack: SlackStandIn, org: None) -> None:
    unknown = runner.invoke(app, ["digest", "preview", "--user", "nobody@example.com"])
    assert unknown.exit_code == 2 and "no user" in unknown.output
    naive = runner.invoke(app, ["digest", "preview", "--user", "UANA", "--at", "2026-03-11T08:00"])
    assert naive.exit_code == 2 and "zone" in naive.output
    both = runner.invoke(app, ["digest", "send", "--user", "UANA", "--all"])
    assert both.exit_code == 2


def test_send_delivers_once_and_dry_run_sends_nothing(
    slack: SlackStandIn, org: None, sqlite_engine: Engine
) -> None:
    dry = runner.invoke(app, ["digest", "send", "--all", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would send rep digest to UANA" in dry.output
    assert slack.calls_to("chat.postMessage") == []

    first = runner.invoke(app, ["digest", "send", "--user", "UANA"])
    assert first.exit_code == 0, first.output
    assert "1 sent" in first.output
    again = runner.invoke(app, ["digest", "send", "--user", "ana@seller.example"])
    assert "0 sent" in again.output and "1 already taken" in again.output
    assert [c.params["channel"] for c in slack.calls_to("chat.postMessage")] == ["UANA"]
    with Session(sqlite_engine) as session:
        assert session.scalar(select(func.count(DigestDelivery.id))) == 1
        local_date = session.scalars(select(DigestDelivery.local_date)).one()

    status = runner.invoke(app, ["digest", "status", "--date", local_date.isoformat(), "--json"])
    (row,) = json.loads(status.output)
    assert (row["status"], row["channel_id"], row["attempts"]) == ("sent", "UANA", 1)
    assert row["message_ts"]
    bad = runner.invoke(app, ["digest", "status", "--date", "yesterday"])
    assert bad.exit_code == 2
