"""Preferences: defaults when unset, every invalid field named, saved as given."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy.orm import Session

from rules.settings.preferences import (
    Preferences,
    load_preferences,
    preference_problems,
    save_preferences,
)
from tests.builders import CRM


def test_defaults_until_saved_then_what_was_saved(
    session: Session, crm: CRM, now: datetime
) -> None:
    dana = crm.user()
    assert load_preferences(session, user_id=dana.id) == Preferences()
    chosen = Preferences(
        digest_time=time(7, 15),
        digest_weekdays=(1, 2),
        timezone_override="America/Chicago",
        follow_up_prompt=False,
        empty_digest="skip",
        muted_action_types=("email_replies",),
    )
    save_preferences(session, user_id=dana.id, prefs=chosen, now=now)
    assert load_preferences(session, user_id=dana.id) == chosen


def test_every_invalid_field_is_named() -> None:
    bad = Preferences(
        digest_time=time(7, 13),
        digest_weekdays=(),
        timezone_override="Atlantis/Capital",
        empty_digest="sometimes",
        muted_action_types=("nonsense",),
    )
    problems = preference_problems(bad, known_action_types={"email_replies"})
    assert set(problems) == {
        "digest_time",
        "digest_weekdays",
        "timezone_override",
        "empty_digest",
        "muted_action_types",
    }
    assert "Atlantis/Capital" in str(problems["timezone_override"])
    assert preference_problems(Preferences(), known_action_types=set()) == {}
