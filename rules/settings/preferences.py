"""A user's own settings (``/sales settings``): read with defaults, validate, save."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, time

from sqlalchemy.orm import Session

from rules.clock import parse_zone
from rules.settings import wording as say
from rules.translatable import Phrase, phrase
from storage.models import User, UserPreferences
from storage.types import utc

EMPTY_DIGEST_CHOICES = ("all_clear", "skip")


@dataclass(frozen=True)
class Preferences:
    """What the settings modal shows and saves (a missing row means these defaults)."""

    digest_time: time = time(8, 0)
    digest_weekdays: tuple[int, ...] = (1, 2, 3, 4, 5)
    timezone_override: str | None = None
    follow_up_prompt: bool = True
    empty_digest: str = "all_clear"
    muted_action_types: tuple[str, ...] = field(default_factory=tuple)
    # A language code ("de"), or None to follow Slack's locale.
    language: str | None = None


@dataclass(frozen=True)
class LanguageChoice:
    """What decides a user's language: their own choice, else Slack's locale."""

    chosen: str | None = None
    slack_locale: str | None = None


def load_preferences(session: Session, *, user_id: int) -> Preferences:
    """The user's saved preferences, or the defaults."""
    row = session.get(UserPreferences, user_id)
    if row is None:
        return Preferences()
    return Preferences(
        digest_time=row.digest_time,
        digest_weekdays=tuple(sorted({int(d) for d in row.digest_weekdays or []})),
        timezone_override=row.timezone_override,
        follow_up_prompt=bool(row.follow_up_prompt),
        empty_digest=row.empty_digest if row.empty_digest in EMPTY_DIGEST_CHOICES else "all_clear",
        muted_action_types=tuple(row.muted_action_types or ()),
        language=row.language or None,
    )


def language_choice(session: Session, *, user_id: int) -> LanguageChoice:
    """The user's chosen language and Slack locale (either may be None)."""
    user = session.get(User, user_id)
    prefs = session.get(UserPreferences, user_id)
    return LanguageChoice(
        chosen=(prefs.language or None) if prefs is not None else None,
        slack_locale=user.slack_locale if user is not None else None,
    )


def preference_problems(
    prefs: Preferences,
    *,
    known_action_types: Collection[str],
    known_languages: Collection[str] | None = None,
) -> dict[str, Phrase | str]:
    """Field name -> what is wrong (translated where it is shown), for every field that is
    invalid; empty when all fine."""
    problems: dict[str, Phrase | str] = {}
    if prefs.language and known_languages is not None and prefs.language not in known_languages:
        problems["language"] = say.UNKNOWN_LANGUAGE
    if prefs.digest_time.tzinfo is not None:
        problems["digest_time"] = say.TIME_WITH_ZONE
    if prefs.digest_time.minute % 5 or prefs.digest_time.second:
        problems["digest_time"] = say.TIME_OFF_GRID
    if not prefs.digest_weekdays:
        problems["digest_weekdays"] = say.NO_WEEKDAYS
    elif any(day not in range(1, 8) for day in prefs.digest_weekdays):
        problems["digest_weekdays"] = say.BAD_WEEKDAY
    if prefs.timezone_override and parse_zone(prefs.timezone_override) is None:
        problems["timezone_override"] = phrase(say.UNKNOWN_ZONE, zone=prefs.timezone_override)
    if prefs.empty_digest not in EMPTY_DIGEST_CHOICES:
        problems["empty_digest"] = say.PICK_EMPTY_DIGEST
    unknown = sorted(set(prefs.muted_action_types) - set(known_action_types))
    if unknown:
        problems["muted_action_types"] = phrase(say.UNKNOWN_ACTION_TYPES, types=", ".join(unknown))
    return problems


def save_preferences(session: Session, *, user_id: int, prefs: Preferences, now: datetime) -> None:
    """Store ``prefs`` for the user (the caller validated them and commits)."""
    row = session.get(UserPreferences, user_id)
    if row is None:
        row = UserPreferences(user_id=user_id)
        session.add(row)
    row.digest_time = prefs.digest_time
    row.digest_weekdays = sorted(set(prefs.digest_weekdays))
    row.timezone_override = prefs.timezone_override or None
    row.follow_up_prompt = prefs.follow_up_prompt
    row.empty_digest = prefs.empty_digest
    row.muted_action_types = sorted(set(prefs.muted_action_types))
    row.language = prefs.language or None
    row.updated_at = utc(now)
    session.flush()
