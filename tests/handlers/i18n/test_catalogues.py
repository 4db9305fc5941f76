"""Every string the code marks for translation is translated in German, with its placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from handlers.i18n import DOMAIN, LOCALE_DIR, languages, translations_for

ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
# As `make messages` extracts: the domain marks plural templates with ``N_plural``.
KEYWORDS = {**DEFAULT_KEYWORDS, "N_plural": (1, 2)}


def _source_messages() -> set[str | tuple[str, ...]]:
    """What ``make messages`` extracts (by babel.cfg), read from the code as it is now."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config, "babel.cfg")
    return {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT, method_map=method_map, options_map=options_map, keywords=KEYWORDS
        )
    }


def _catalogue(code: str):  # type: ignore[no-untyped-def]
    with (LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize("code", [c for c in languages() if c != "en"])
def test_every_message_in_the_code_is_translated_and_none_is_fuzzy(code: str) -> None:
    catalog = _catalogue(code)
    problems = []
    for message in _source_messages():
        key = message if isinstance(message, str) else message[0]
        entry = catalog.get(key)
        if entry is None:
            problems.append(f"missing: {message!r} (run `make messages`, then translate)")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {message!r}")
        elif not (entry.string if isinstance(entry.string, str) else all(entry.string)):
            problems.append(f"untranslated: {message!r}")
    assert problems == []


@pytest.mark.parametrize("code", [c for c in languages() if c != "en"])
def test_translations_keep_every_placeholder(code: str) -> None:
    for entry in _catalogue(code):
        if not entry.id:
            continue
        ids = [entry.id] if isinstance(entry.id, str) else list(entry.id)
        strings = [entry.string] if isinstance(entry.string, str) else list(entry.string)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == wanted, (entry.id, string)


def test_german_is_spoken_and_english_is_the_source() -> None:
    assert languages()[:2] == ("en", "de")
    assert translations_for("de").gettext("Guided actions") == "Geführte Aktionen"
    assert translations_for("de").ngettext("{count} meeting", "{count} meetings", 2) == (
        "{count} Meetings"
    )
    assert translations_for("en").gettext("Guided actions") == "Guided actions"
