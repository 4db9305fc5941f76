"""The demo's Home tab preview: readable in a terminal, JSON that Block Kit Builder takes."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.terminal.home import home_tab_section
from bot.terminal.sections import TerminalContext
from demo import build_demo_org
from handlers.render.kit import block_problems
from storage.models import User
from tests.conftest import FIXED_NOW


def test_the_preview_prints_the_home_tab_and_writes_its_json(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "data" / "home-tab.json"
    console = Console(record=True, width=110)
    with Session(sqlite_engine) as session:
        org = build_demo_org(session, now=FIXED_NOW)
        dana = session.get(User, org.rep_id)
        assert dana is not None
        console.print(home_tab_section(TerminalContext(session, dana, FIXED_NOW), out))
    shown = console.export_text()
    assert "Slack Home tab" in shown and "Today's meetings" in shown
    assert "[ ✓ Complete ]" in shown
    saved = json.loads(out.read_text())
    assert saved["type"] == "home"
    assert block_problems(saved["blocks"], surface="home") == []
    assert f"{len(saved['blocks'])} blocks" in shown
