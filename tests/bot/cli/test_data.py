"""`salesbot import` / `salesbot export` from the command line: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.storage.snapshot.conftest import EXAMPLE

runner = CliRunner()


@pytest.fixture(autouse=True)
def _embedded_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SALESBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)


def test_import_prints_counts_and_exits_zero() -> None:
    result = runner.invoke(app, ["import", str(EXAMPLE)])

    assert result.exit_code == 0, result.output
    assert "activities" in result.stdout
    assert "rows written" in result.stdout


def test_import_json_output_counts_each_section() -> None:
    runner.invoke(app, ["import", str(EXAMPLE)])

    result = runner.invoke(app, ["import", str(EXAMPLE), "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["sections"]["activities"] == {"inserted": 0, "updated": 0, "unchanged": 7}
    assert report["rows_written"] == 0


def test_a_bad_file_exits_one_naming_record_and_field(tmp_path: Path) -> None:
    document = json.loads(EXAMPLE.read_text("utf-8"))
    document["deals"][0]["stage"] = "foo"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), "utf-8")

    result = runner.invoke(app, ["import", str(bad)])

    assert result.exit_code == 1
    assert "deals[0].stage: unknown stage 'foo' in pipeline 'default'" in result.stderr
    assert "nothing was imported" in result.stderr
    exported = tmp_path / "after.json"
    assert runner.invoke(app, ["export", str(exported)]).exit_code == 0
    assert json.loads(exported.read_text("utf-8"))["deals"] == []


def test_a_lone_surrogate_exits_one_naming_record_and_field_without_a_traceback(
    tmp_path: Path,
) -> None:
    text = EXAMPLE.read_text("utf-8").replace('"Mara Lind"', '"Mara \\udfff Lind"', 1)
    bad = tmp_path / "surrogate.json"
    bad.write_text(text, "utf-8")

    result = runner.invoke(app, ["import", str(bad)])

    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "users[0].name: text that is not Unicode" in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_file_is_a_usage_problem(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(tmp_path / "nope.json")])

    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_bad_configuration_exits_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESBOT_DEFAULT_TIMEZONE", "Mars/Olympus")

    result = runner.invoke(app, ["import", str(EXAMPLE)])

    assert result.exit_code == 2
    assert "unknown IANA time zone" in result.stderr


def test_export_writes_what_import_reads(tmp_path: Path) -> None:
    runner.invoke(app, ["import", str(EXAMPLE)])
    exported = tmp_path / "out.json"

    result = runner.invoke(app, ["export", str(exported), "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["records"]["activities"] == 7
    again = runner.invoke(app, ["import", str(exported), "--json"])
    assert json.loads(again.stdout)["sections"]["deals"]["unchanged"] == 1
