"""`salesbot demo` builds its own database and prints the demo rep's day."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app


def test_demo_prints_the_reps_overview(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A configured server database must be left alone, even though the demo runs.
    server_db = tmp_path / "server.sqlite3"
    server_db.write_bytes(b"precious")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{server_db}")
    monkeypatch.setenv("SALESBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(app, ["demo", "--width", "100"])

    assert result.exit_code == 0, result.output
    out = result.output
    assert "Dana Reyes" in out
    for heading in ("Overdue (", "Due today (", "Due tomorrow (", "Today (", "Insights"):
        assert heading in out
    assert "high priority" in out
    # Dana's 15:00 call about Globex is due today and high priority: marked with "!".
    overview = out.split("Guided actions")[0]  # the actions after it list the task again
    marked = [line for line in overview.splitlines() if "Confirm budget owner at Globex" in line]
    assert len(marked) == 1 and "!" in marked[0]
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "Guided actions" in out and "Closing-related" in out
    assert (tmp_path / "data" / "demo.sqlite3").exists()
    assert server_db.read_bytes() == b"precious"


def test_demo_runs_twice_from_a_fresh_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SALESBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "--width", "90"]).exit_code == 0
    second = runner.invoke(app, ["demo", "--width", "90"])
    assert second.exit_code == 0, second.output
    assert "Dana Reyes" in second.output
