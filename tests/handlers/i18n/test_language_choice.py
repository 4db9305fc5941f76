"""Who reads which language, through the real app: Slack's locale, then /sales settings."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from handlers.slack import ids
from storage.models import User, UserPreferences
from tests.builders import CRM
from tests.support.app import RunningApp


def _settings(language: str) -> dict[str, Any]:
    return {
        "digest_time": {"value": {"type": "timepicker", "selected_time": "08:00"}},
        "digest_weekdays": {"value": {"type": "checkboxes", "selected_options": [{"value": "1"}]}},
        "timezone_override": {"value": {"type": "plain_text_input", "value": None}},
        "follow_up_prompt": {"value": {"type": "checkboxes", "selected_options": []}},
        "empty_digest": {
            "value": {"type": "radio_buttons", "selected_option": {"value": "all_clear"}}
        },
        "language": {"value": {"type": "static_select", "selected_option": {"value": language}}},
    }


def _mia(
    running_app: RunningApp, crm: CRM, session: Session, *, linked: bool, locale: str = "de-DE"
) -> User:
    """Mia, a CRM user whose Slack account speaks ``locale`` (linked to it or not yet)."""
    mia = crm.user(slack_user_id="UMIA" if linked else None, email="mia@seller.example")
    session.commit()
    running_app.slack.add_user("UMIA", email="mia@seller.example", locale=locale)
    return mia


def test_a_german_slack_user_gets_a_german_home_tab_and_it_is_remembered(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    mia = _mia(running_app, crm, session, linked=False)
    running_app.open_home("UMIA", event_id="Ev1")
    home = json.dumps(running_app.published_home("UMIA")["blocks"], ensure_ascii=False)
    assert "Übersicht" in home and "Geführte Aktionen" in home and "Overview" not in home
    session.expire_all()
    assert session.get(User, mia.id).slack_locale == "de-DE"  # type: ignore[union-attr]


def test_a_user_linked_before_is_asked_their_locale_once(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    _mia(running_app, crm, session, linked=True, locale="de-AT")
    running_app.open_home("UMIA", event_id="Ev1")
    running_app.open_home("UMIA", event_id="Ev2")
    asked = running_app.slack.calls_to("users.info")
    assert len(asked) == 1 and asked[0].params.get("include_locale") in ("1", "true", True)
    assert "Übersicht" in json.dumps(running_app.published_home("UMIA"), ensure_ascii=False)


def test_the_settings_choice_wins_over_slacks_locale(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    mia = _mia(running_app, crm, session, linked=True)
    running_app.slash("settings", user_id="UMIA")
    (opened,) = running_app.slack.calls_to("views.open")
    form = json.dumps(opened.json_param("view"), ensure_ascii=False)
    assert "Deine Einstellungen" in form and "Sprache" in form and "Deutsch" in form

    answer = running_app.view_submission(
        user_id="UMIA", callback_id=ids.VIEW_SETTINGS, values=_settings("en")
    )
    assert answer.status == 200
    session.expire_all()
    assert session.get(UserPreferences, mia.id).language == "en"  # type: ignore[union-attr]
    running_app.open_home("UMIA", event_id="Ev3")
    assert "Overview" in json.dumps(running_app.published_home("UMIA"))


def test_an_unknown_language_in_a_forged_submission_is_refused(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    mia = crm.user(slack_user_id="UMIA")
    session.commit()
    answer = running_app.view_submission(
        user_id="UMIA", callback_id=ids.VIEW_SETTINGS, values=_settings("xx")
    )
    assert "language" in answer.body and "errors" in answer.body
    session.expire_all()
    assert session.get(UserPreferences, mia.id) is None


def test_when_slack_cannot_say_the_locale_it_is_asked_again_later(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    mia = _mia(running_app, crm, session, linked=True)
    running_app.slack.fail("users.info", "fatal_error")
    running_app.open_home("UMIA", event_id="Ev1")
    assert "Overview" in json.dumps(running_app.published_home("UMIA"))  # the default
    session.expire_all()
    assert session.get(User, mia.id).slack_locale is None  # type: ignore[union-attr]


def test_a_settings_error_that_quotes_a_value_reads_german(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    """Issue #14's leftover: the unknown time zone is quoted inside a German sentence."""
    _mia(running_app, crm, session, linked=True)
    values = _settings("de")
    values["timezone_override"]["value"]["value"] = "Mars/Olympus"

    answer = running_app.view_submission(
        user_id="UMIA", callback_id=ids.VIEW_SETTINGS, values=values
    )

    assert answer.json()["errors"]["timezone_override"].startswith(
        "„Mars/Olympus“ ist keine Zeitzone, die ich kenne."
    )
