"""``salesbot db``: the schema's revision, and an unreachable database said in one line."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once the probe closes


def test_current_shows_the_revision_of_a_migrated_database(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string())
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 0, result.output
    current, latest = result.stdout.split()[1], result.stdout.split()[3]
    assert current == latest != "None"


@pytest.mark.parametrize("command", [["db", "current"], ["db", "upgrade"], ["users", "list"]])
def test_an_unreachable_database_exits_2_with_one_line(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://salesbot@127.0.0.1:{_closed_port()}/x")
    result = runner.invoke(app, command)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("cannot ") and "Connection refused" in line


def test_an_unknown_revision_exits_2_with_one_line(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string())
    result = runner.invoke(app, ["db", "upgrade", "nosuchrevision"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "cannot upgrade the database: Can't locate revision identified by 'nosuchrevision'"
    ]
