"""Which language a user reads: their choice in settings, else Slack's locale, else the default."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from handlers.i18n import SOURCE_LANGUAGE, Language, language_from_locale, languages, use_language
from rules.settings.preferences import LanguageChoice, language_choice


def language_code(choice: LanguageChoice, *, default: str = SOURCE_LANGUAGE) -> str:
    """The language to speak: the user's choice, their Slack locale's, or ``default``."""
    if choice.chosen in languages():
        return str(choice.chosen)
    return language_from_locale(choice.slack_locale) or (
        default if default in languages() else SOURCE_LANGUAGE
    )


@contextmanager
def speaking_to(
    session: Session, *, user_id: int, default: str = SOURCE_LANGUAGE
) -> Iterator[Language]:
    """Render in ``user_id``'s language inside the block."""
    choice = language_choice(session, user_id=user_id)
    code = language_code(choice, default=default)
    with use_language(code, slack_locale=choice.slack_locale) as language:
        yield language
