"""``salesbot users`` and ``salesbot serve`` from the command line."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bot.cli import app
from storage.models import User
from tests.builders import CRM

runner = CliRunner()


@pytest.fixture
def cli_db(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string())
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return sqlite_engine


def test_map_links_a_slack_user_by_email_ignoring_case(
    cli_db: Engine, crm: CRM, session: Session
) -> None:
    dana = crm.user(name="Dana", email="dana@seller.example")
    session.commit()
    result = runner.invoke(
        app, ["users", "map", "--slack", "U0DANA", "--email", "DANA@seller.example"]
    )
    assert result.exit_code == 0, result.output
    assert "linked Slack user U0DANA to Dana" in result.output
    session.expire_all()
    assert session.get_one(User, dana.id).slack_user_id == "U0DANA"


def test_map_moves_a_slack_id_that_was_linked_to_someone_else(
    cli_db: Engine, crm: CRM, session: Session
) -> None:
    old = crm.user(email="old@seller.example", slack_user_id="U0SAME")
    new = crm.user(email="new@seller.example")
    session.commit()
    result = runner.invoke(
        app, ["users", "map", "--slack", "U0SAME", "--email", "new@seller.example"]
    )
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.get_one(User, old.id).slack_user_id is None
    assert session.get_one(User, new.id).slack_user_id == "U0SAME"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slack", "dana", "--email", "dana@seller.example"], "is not a Slack user id"),
        (["--slack", "U0DANA", "--email", "nobody@seller.example"], "no CRM user has the email"),
    ],
)
def test_map_refuses_bad_input_and_changes_nothing(
    cli_db: Engine, crm: CRM, session: Session, args: list[str], message: str
) -> None:
    dana = crm.user(email="dana@seller.example")
    session.commit()
    result = runner.invoke(app, ["users", "map", *args])
    assert result.exit_code != 0
    assert message in result.output
    session.expire_all()
    assert session.get_one(User, dana.id).slack_user_id is None


def test_list_shows_who_is_linked(cli_db: Engine, crm: CRM, session: Session) -> None:
    crm.user(name="Dana", slack_user_id="U0DANA")
    crm.user(name="Eve")
    session.commit()
    result = runner.invoke(app, ["users", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["Dana"]["slack_user_id"] == "U0DANA"
    assert rows["Eve"]["slack_user_id"] is None
    table = runner.invoke(app, ["users", "list"])
    assert "U0DANA" in table.output


@pytest.mark.parametrize(
    ("mode", "env", "message"),
    [
        ("socket", {}, "SLACK_BOT_TOKEN is not set"),
        ("http", {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        ("socket", {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN is not set"),
    ],
)
def test_serve_says_which_token_is_missing(
    cli_db: Engine, monkeypatch: pytest.MonkeyPatch, mode: str, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = runner.invoke(app, ["serve", "--mode", mode])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
