"""The user's language: gettext catalogues (managed with Babel) and CLDR formatting.

Renderers mark every user-facing string with ``_()`` (or ``ngettext`` for counts; ``N_``
for a string kept in a table and translated where it is shown). The language is chosen
once per request or per message with ``use_language(code)``, so the pure renderers need no
language argument: a context variable carries it, and ``render_pool`` workers set it
themselves. Catalogues live in ``handlers/i18n/locale/<code>/LC_MESSAGES/salesbot.po``; the
compiled ``.mo`` files are built by ``make`` (``pybabel compile``) and not committed. When
a ``.mo`` is missing (a fresh clone run without ``make``) the ``.po`` is compiled in
memory, so a user never sees English because a build step was skipped.

Adding a language is adding a catalogue: ``pybabel init -l <code> ...`` (docs/languages.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from gettext import NullTranslations
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

DOMAIN = "salesbot"
LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"
# How the source language formats dates and numbers: 24-hour clock, "Mon 30 Nov".
SOURCE_FORMAT_LOCALE = "en_GB"

__all__ = [
    "DOMAIN",
    "LOCALE_DIR",
    "N_",
    "SOURCE_LANGUAGE",
    "Language",
    "_",
    "current",
    "language_from_locale",
    "languages",
    "ngettext",
    "translations_for",
    "use_language",
    "use_translations",
]


@dataclass(frozen=True)
class Language:
    """The active language: its gettext catalogue and the CLDR locale that formats."""

    code: str
    translations: NullTranslations
    locale: Locale


def languages() -> tuple[str, ...]:
    """Every language the app speaks: English and each language with a catalogue."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LANGUAGE, *[code for code in found if code != SOURCE_LANGUAGE])


def language_from_locale(value: str | None) -> str | None:
    """The language we speak for a Slack locale ("de-DE" -> "de"), or None if we don't."""
    if not value:
        return None
    code = value.replace("_", "-").split("-")[0].lower()
    return code if code in languages() else None


@cache
def translations_for(code: str) -> NullTranslations:
    """The catalogue of ``code`` (English: none, the source strings are English)."""
    if code == SOURCE_LANGUAGE or code not in languages():
        return NullTranslations()
    folder = LOCALE_DIR / code / "LC_MESSAGES"
    mo, po = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as handle:
            compiled: NullTranslations = Translations(handle, domain=DOMAIN)
            return compiled
    in_memory: NullTranslations = _compiled_in_memory(po)
    return in_memory


def _compiled_in_memory(po: Path) -> Translations:
    with po.open("rb") as handle:
        catalog = read_po(handle)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


@cache
def _format_locale(code: str, slack_locale: str | None) -> Locale:
    """The CLDR locale: Slack's own when it is in this language (de-AT), else the language's."""
    if slack_locale and language_from_locale(slack_locale) == code:
        try:
            return Locale.parse(slack_locale.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            pass
    if code == SOURCE_LANGUAGE:
        return Locale.parse(SOURCE_FORMAT_LOCALE)
    return Locale.parse(code)


_ENGLISH = Language(SOURCE_LANGUAGE, NullTranslations(), Locale.parse(SOURCE_FORMAT_LOCALE))
_active: ContextVar[Language] = ContextVar("salesbot_language", default=_ENGLISH)


def current() -> Language:
    return _active.get()


@contextmanager
def use_translations(language: Language) -> Iterator[Language]:
    """Speak ``language`` inside the block (tests use it for the pseudo-locale)."""
    token = _active.set(language)
    try:
        yield language
    finally:
        _active.reset(token)


@contextmanager
def use_language(code: str, *, slack_locale: str | None = None) -> Iterator[Language]:
    """Render in language ``code`` inside the block (an unknown code gives English)."""
    if code not in languages():
        code = SOURCE_LANGUAGE
    language = Language(code, translations_for(code), _format_locale(code, slack_locale))
    with use_translations(language):
        yield language


def _(message: str) -> str:
    """``message`` in the active language."""
    return _active.get().translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n`` in the active language."""
    return _active.get().translations.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue; it is translated with ``_()`` where shown."""
    return message
