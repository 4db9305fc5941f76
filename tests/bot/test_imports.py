"""The bot's modules import alone (no cycles), and the CLI's help loads nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LOWER_LAYERS = ("storage", "rules", "insights", "handlers")
# Slow to import and needed by some commands only (``serve``, ``insights``, ``digest send``).
HEAVY = ("openai", "slack_bolt", "slack_sdk", "insights", "handlers", "apscheduler", "waitress")


def modules_of(package: str) -> list[str]:
    """Every module of ``package``, found on disk (importing would load them)."""
    names = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__main__" or "migrations" in parts:
            continue  # runs the CLI; Alembic's scripts run inside Alembic only
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_bot_module_imports_alone() -> None:
    # A fresh interpreter loads the libraries and the layers below bot (which must not load
    # any bot module), then imports each bot module in a forked child of its own, where no
    # bot module is loaded yet: an import cycle in bot fails there as `import bot.x` would
    # for a user. (Forking spares reloading the layers below for each of ~30 modules.)
    modules = modules_of("bot")
    below = [name for layer in LOWER_LAYERS for name in modules_of(layer)]
    assert "bot.cli.common" in modules and "bot.digests.schedule" in modules
    result = _run(
        f"""
        import importlib, json, os, sys
        for name in {below!r}:
            importlib.import_module(name)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] == "bot")
        assert not loaded, f"the layers below bot import {{loaded}}"
        failed = {{}}
        for name in {modules!r}:
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read)
                try:
                    importlib.import_module(name)
                    message = ""
                except BaseException as error:
                    message = f"{{type(error).__name__}}: {{error}}"
                os.write(write, message.encode())
                os._exit(0)
            os.close(write)
            with os.fdopen(read) as pipe:
                message = pipe.read()
            os.waitpid(pid, 0)
            if message:
                failed[name] = message
        print(json.dumps(failed))
        """
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {}


@pytest.mark.parametrize("args", [["--help"], ["actions", "--help"], ["import", "--help"]])
def test_help_loads_no_slack_model_or_domain_modules(args: list[str]) -> None:
    result = _run(
        f"""
        import json, sys
        from typer.testing import CliRunner
        from bot.cli import app
        outcome = CliRunner().invoke(app, {args!r})
        assert outcome.exit_code == 0, outcome.output
        print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & {set(HEAVY)!r})))
        """
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
