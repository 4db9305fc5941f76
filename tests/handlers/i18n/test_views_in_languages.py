"""The demo rep's Home tab in English, German and the pseudo-locale: golden copies, Slack's
limits on every page, and no English left where a translation is expected."""

from __future__ import annotations

import json
import re
from contextlib import nullcontext

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from demo import DemoOrg
from handlers.i18n import use_language, use_translations
from handlers.i18n.formats import first_weekday
from handlers.render import workspace
from handlers.render.kit import Surface, block_problems
from handlers.render.navigation import View, ViewState
from handlers.render.workspace import render_workspace
from rules.settings.preferences import Preferences, save_preferences
from storage.models import User
from tests.handlers.i18n.golden import matches_golden, visible_text
from tests.support.pseudo import PseudoTranslations, pseudo_language

VIEWS = {
    View.OVERVIEW: "",
    View.TASKS: "",
    View.DEALS: "all",
    View.LEADS: "",
    View.SCHEDULE: "week",
    View.FEED: "",
}


def _render(session: Session, org: DemoOrg, view: View, surface: Surface = "home") -> list:  # type: ignore[type-arg]
    dana = session.get(User, org.rep_id)
    assert dana is not None
    state = ViewState(view=view, filter=VIEWS[view])
    return render_workspace(session, viewer=dana, state=state, now=org.now, surface=surface).blocks


def _choose(session: Session, org: DemoOrg, language: str | None) -> None:
    save_preferences(session, user_id=org.rep_id, prefs=Preferences(language=language), now=org.now)


@pytest.mark.parametrize("code", ["en", "de"])
def test_the_overview_reads_as_the_golden_copy(demo: tuple[Engine, DemoOrg], code: str) -> None:
    engine, org = demo
    with Session(engine) as session:
        _choose(session, org, code)
        blocks = _render(session, org, View.OVERVIEW)
        session.rollback()
    assert matches_golden(f"overview.{code}.txt", visible_text(blocks))


@pytest.mark.parametrize("surface", ["home", "message"])
def test_every_view_in_german_fits_slack_and_speaks_german(
    demo: tuple[Engine, DemoOrg], surface: Surface
) -> None:
    engine, org = demo
    with Session(engine) as session:
        _choose(session, org, "de")
        for view in VIEWS:
            blocks = _render(session, org, view, surface)
            assert block_problems(blocks, surface=surface) == [], view
            nav = json.dumps(blocks[1], ensure_ascii=False)
            assert "Übersicht" in nav and "Zeitplan" in nav and "Aufgaben" in nav
        session.rollback()


def test_a_user_without_a_choice_follows_slacks_locale(demo: tuple[Engine, DemoOrg]) -> None:
    engine, org = demo
    with Session(engine) as session:
        _choose(session, org, None)
        dana = session.get(User, org.rep_id)
        assert dana is not None
        dana.slack_locale = "de-AT"
        german = json.dumps(_render(session, org, View.DEALS), ensure_ascii=False)
        dana.slack_locale = "fr-FR"  # a language without a catalogue: the default, English
        english = json.dumps(_render(session, org, View.DEALS))
        session.rollback()
    assert "Alle Deals" in german and "Abschluss " in german
    assert "All deals" in english and "closes " in english


def test_money_and_dates_follow_the_locale(demo: tuple[Engine, DemoOrg]) -> None:
    engine, org = demo
    with Session(engine) as session:
        _choose(session, org, "de")
        deals = json.dumps(_render(session, org, View.DEALS), ensure_ascii=False)
        session.rollback()
    assert re.search(r"\d{1,3}\.\d{3}\s(\$|€)", deals)  # "185.000 $" (a no-break space)
    assert re.search(r"Abschluss \d{2}\.\d{2}\.\d{4}", deals)  # "Abschluss 30.11.2026"
    with use_language("de"):
        assert first_weekday() == 0  # Monday
    with use_language("en", slack_locale="en-US"):
        assert first_weekday() == 6  # Sunday


def test_the_pseudo_locale_breaks_no_layout_and_leaves_no_catalogued_english(
    demo: tuple[Engine, DemoOrg], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pseudo-locale is nobody's language: keep it rather than the viewer's.
    monkeypatch.setattr(workspace, "speaking_to", lambda *_args, **_kwargs: nullcontext())
    english = set(PseudoTranslations().singular)
    # Long enough to be UI text rather than a fragment that data could contain.
    phrases = {m for m in english if len(m) >= 12 and "{" not in m}
    engine, org = demo
    with Session(engine) as session, use_translations(pseudo_language()):
        for view in VIEWS:
            for surface in ("home", "message"):
                blocks = _render(session, org, view, surface)
                assert block_problems(blocks, surface=surface) == [], view
                text = visible_text(blocks)
                left = sorted(p for p in phrases if p in text)
                assert left == [], (view, left)
