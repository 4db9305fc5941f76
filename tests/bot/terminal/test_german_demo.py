"""The end of ``make demo``: a German speaker's digest, German from top to bottom."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.terminal.demo import german_speaker
from bot.terminal.digest import digest_section
from bot.terminal.sections import TerminalContext
from demo import build_demo_org
from demo.wording import MEETING_TITLES, TASK_SUBJECTS
from tests.conftest import FIXED_NOW


def test_the_german_speakers_digest_has_no_english_left(sqlite_engine: Engine) -> None:
    console = Console(record=True, width=200)
    with Session(sqlite_engine) as session:
        org = build_demo_org(session, now=FIXED_NOW)
        german = german_speaker(session, org)
        assert german is not None
        console.print(digest_section(TerminalContext(session, german, FIXED_NOW, org=org)))
    # The panel's frame is the terminal's (English, like the rest of the CLI); its content
    # is the Slack message.
    digest = "\n".join(console.export_text().splitlines()[1:])
    assert "Guten Morgen" in digest and "Erledigen" in digest
    english = [s for s in (*TASK_SUBJECTS, *MEETING_TITLES, "Sequence step") if s in digest]
    assert english == []
    assert "Sequenzschritt" in digest or "senden" in digest
