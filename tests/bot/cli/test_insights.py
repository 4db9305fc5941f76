"""``salesbot insights``: what a user would see, as text or JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bot.cli import app
from bot.terminal.insights import deal_insights_section
from bot.terminal.sections import TerminalContext
from demo import build_demo_org
from storage.models import DealVisibility, User
from tests.builders import CRM
from tests.support.dripping_model import dripping_model
from tests.support.llm import BASE_URL, MODEL, FakeModel, fake_model


@pytest.fixture
def model() -> Iterator[FakeModel]:
    with fake_model() as fake:
        yield fake


@pytest.fixture
def cli_env(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in ("OPENAI_API_KEY", "SALESBOT_LLM_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return {"DATABASE_URL": sqlite_engine.url.render_as_string(hide_password=False)}


@pytest.fixture
def acme(sqlite_engine: Engine) -> dict[str, int]:
    # Real time: the command reads the clock, so the records are placed around it.
    now = datetime.now().astimezone()
    with Session(sqlite_engine) as session:
        crm = CRM(session, now)
        team = crm.team()
        ann = crm.user(
            name="Ann",
            email="ann@seller.example",
            team_id=team.id,
            deal_visibility=DealVisibility.TEAM,
        )
        ben = crm.user(name="Ben", email="ben@seller.example", team_id=team.id)
        deal = crm.deal(ben, name="Acme renewal")
        email = crm.email(
            ann,
            subject="Budget cut",
            body="Their budget was cut.",
            sent_at=now - timedelta(days=1),
            deals=[deal],
        )
        call = crm.call(
            ben,
            subject="Kick-off",
            body="Goal: fewer spreadsheets.",
            starts_at=now - timedelta(days=2),
            deals=[deal],
        )
        session.commit()
        return {"deal": deal.id, "email": email.id, "call": call.id, "ben": ben.id}


def test_json_without_a_key_is_the_crm_only_view(
    cli_env: dict[str, str], acme: dict[str, Any]
) -> None:
    result = CliRunner().invoke(
        app, ["insights", "--deal", "acme", "--as", "ben@seller.example", "--json"], env=cli_env
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["deal"]["name"] == "Acme renewal"
    assert data["ai"]["status"] == "no_model" and data["ai_sections"] is None
    assert [a["id"] for a in data["recent_activities"]] == [acme["call"]]
    assert "no_follow_up" in [r["kind"] for r in data["crm_risks"]]
    assert "Budget" not in result.stdout


def test_with_a_model_each_user_sees_their_own_view(
    cli_env: dict[str, str], acme: dict[str, Any], model: FakeModel
) -> None:
    env = {
        **cli_env,
        "SALESBOT_LLM_API_KEY": "k",
        "SALESBOT_LLM_BASE_URL": BASE_URL,
        "SALESBOT_LLM_MODEL": MODEL,
    }
    as_ann = CliRunner().invoke(app, ["insights", "--deal", "Acme renewal", "--as", "Ann"], env=env)
    as_ben = CliRunner().invoke(
        app, ["insights", "--deal", str(acme["deal"]), "--as", str(acme["ben"]), "--json"], env=env
    )
    assert as_ann.exit_code == 0 and as_ben.exit_code == 0, as_ann.output + as_ben.output
    assert "Buyer goals" in as_ann.stdout and "Budget cut" in as_ann.stdout
    data = json.loads(as_ben.stdout)
    assert data["ai"] == {"status": "used", "model": MODEL, "notice": None}
    assert data["ai_sections"]["risks"] == []
    assert "Budget" not in as_ben.stdout
    assert model.calls == 2


def test_unknown_or_invisible_deal_says_so_without_revealing(
    cli_env: dict[str, str], acme: dict[str, Any], sqlite_engine: Engine
) -> None:
    with Session(sqlite_engine) as session:
        crm = CRM(session, datetime.now().astimezone())
        crm.user(name="Cy", email="cy@seller.example")
        session.commit()
    result = CliRunner().invoke(
        app, ["insights", "--deal", "Acme renewal", "--as", "cy@seller.example"], env=cli_env
    )
    assert result.exit_code == 1
    assert "No deal you can see matches 'Acme renewal'." in result.output
    missing_user = CliRunner().invoke(
        app, ["insights", "--deal", "acme", "--as", "nobody"], env=cli_env
    )
    assert missing_user.exit_code == 2 and "no user 'nobody'" in missing_user.output


def test_demo_section_shows_the_featured_deal_as_each_user_may_see_it(
    session: Session, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_API_KEY", "SALESBOT_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    org = build_demo_org(session, now=now)

    def shown(user_id: int) -> str:
        user = session.get(User, user_id)
        assert user is not None
        section = deal_insights_section(
            TerminalContext(session=session, user=user, now=now, org=org)
        )
        assert section is not None
        console = Console(record=True, width=100)
        console.print(section)
        return console.export_text()

    as_rep, as_manager = shown(org.rep_id), shown(org.manager_id)
    for text in (as_rep, as_manager):
        assert org.featured_deal_name in text
        assert "set SALESBOT_LLM_API_KEY to switch it on" in text
    # The manager's budget-cut email is the manager's to see, not the rep's.
    assert "Heads-up on the budget cut" in as_manager
    assert "Heads-up on the budget cut" not in as_rep


@pytest.mark.slow
def test_a_dripping_model_cannot_keep_the_command_running(
    cli_env: dict[str, str], acme: dict[str, Any]
) -> None:
    """The command answers at its deadline (2 x 0.5 s + 5 s) and exits then, as a process.

    The dripping answer would take minutes (a byte every half second); the bound below
    leaves room for a slow machine's start-up and still tells the two apart.
    """
    with dripping_model(seconds_per_byte=0.5) as model:
        env = {
            **os.environ,
            **cli_env,
            "SALESBOT_LLM_API_KEY": "k",
            "SALESBOT_LLM_BASE_URL": model.base_url,
            "SALESBOT_LLM_TIMEOUT": "0.5",
        }
        command = [sys.executable, "-m", "bot", "insights", "--deal", "acme", "--as", "ben"]
        # Without the deadline on the request, the abandoned thread reads the drip for minutes.
        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=90)
    assert finished.returncode == 0, finished.stderr
    assert "Acme renewal" in finished.stdout
    assert "No AI summary right now" in finished.stdout
