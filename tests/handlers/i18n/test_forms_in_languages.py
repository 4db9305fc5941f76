"""Forms and help in German and the pseudo-locale: within Slack's limits, nothing left in
English, titles short enough not to be cut."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from handlers.i18n import Language, use_language, use_translations
from handlers.render.actions import muteable_types
from handlers.render.deal_modals import deal_create_modal
from handlers.render.help import help_blocks
from handlers.render.kit import MODAL_TITLE, block_problems
from handlers.render.settings import settings_modal
from handlers.render.task_modals import create_task_modal, task_queue_view
from rules.settings.preferences import Preferences
from tests.support.pseudo import pseudo_language

DUE = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _forms() -> dict[str, dict[str, Any]]:
    return {
        "settings": settings_modal(
            Preferences(), action_types=muteable_types(), zone_hint="Europe/Berlin"
        ),
        "new task": create_task_modal(default_due=DUE),
        "new deal": deal_create_modal([], origin={}),
        **{
            f"queue {bucket}": task_queue_view(
                None,
                bucket=bucket,
                position=1,
                total=1,
                done=[],
                skipped=[],
                zone=ZoneInfo("Europe/Berlin"),
                today=date(2026, 11, 30),
            )
            for bucket in ("overdue", "due_today", "due_tomorrow", "all")
        },
    }


def _german_views() -> dict[str, dict[str, Any]]:
    with use_language("de"):
        return _forms()


def _german() -> AbstractContextManager[Language]:
    return use_language("de")


def _pseudo() -> AbstractContextManager[Language]:
    return use_translations(pseudo_language())


@pytest.mark.parametrize("speak", [_german, _pseudo], ids=["de", "pseudo"])
def test_every_form_fits_slack(speak: Callable[[], AbstractContextManager[Language]]) -> None:
    """Longer words are clipped by the kit (a pseudo title may end in "…"), never refused."""
    with speak():
        forms = _forms()
        help_view = help_blocks("Hallo")
    for name, view in forms.items():
        assert block_problems(view["blocks"], surface="modal") == [], name
        for part in ("title", "submit", "close"):
            assert len(view.get(part, {}).get("text", "")) <= MODAL_TITLE, (name, part)
    assert block_problems(help_view, surface="message") == []


def test_the_german_forms_speak_german() -> None:
    with use_language("de"):
        forms = {name: json.dumps(view, ensure_ascii=False) for name, view in _forms().items()}
        help_text = json.dumps(help_blocks(), ensure_ascii=False)
    assert "Montag" in forms["settings"] and "Wie in Slack" in forms["settings"]
    assert "Deine Einstellungen" in forms["settings"] and "Speichern" in forms["settings"]
    assert "Neue Aufgabe" in forms["new task"] and "Betreff" in forms["new task"]
    assert "Neuer Deal" in forms["new deal"] and "Betrag" in forms["new deal"]
    assert "Aufgaben: Überfällig" in forms["queue overdue"]
    assert "5. Antworten auf E-Mails" in forms["settings"]
    assert "dein Vertriebsarbeitsbereich" in help_text
    for name, view in _german_views().items():  # German titles fit without being cut
        for part in ("title", "submit", "close"):
            assert not view.get(part, {}).get("text", "").endswith("…"), (name, part)
    for english in (
        "Save",
        "Cancel",
        "Subject",
        "Monday",
        "Your settings",
        "Overdue",
        "5. Email replies",
    ):
        assert all(f'"{english}"' not in text for text in forms.values()), english
