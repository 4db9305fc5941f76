"""A pseudo-locale built from the English catalogue: accented and 40% longer.

Rendering in it shows two things at a glance: English left in a view (a string that never
went through the catalogue) and layouts that break when a translation is longer than the
English. Placeholders (``{count}``), Slack emoji codes (``:warning:``) and mrkdwn marks stay
as they are, so the strings still format and render.
"""

from __future__ import annotations

import re
from gettext import NullTranslations

from babel import Locale
from babel.messages.pofile import read_po

from handlers.i18n import LOCALE_DIR, Language

ACCENTED = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "åƀçđéƒĝĥîĵķłɱñöþǫŕšţûṽŵẋýžÅƁÇĐÉƑĜĤÎĴĶŁṀÑÖÞǪŔŠŢÛṼŴẊÝŽ",
)
# Kept verbatim: placeholders, emoji codes, Slack links.
KEEP = re.compile(r"\{[a-z_]+\}|:[a-z_]+:|<[^>]+>")
LONGER = 0.4


def pseudo(text: str) -> str:
    """``text`` accented, with 40% more characters (tildes), in brackets."""
    parts, last = [], 0
    for match in KEEP.finditer(text):
        parts.append(text[last : match.start()].translate(ACCENTED))
        parts.append(match.group())
        last = match.end()
    parts.append(text[last:].translate(ACCENTED))
    padding = "~" * max(1, round(len(text) * LONGER))
    return f"[{''.join(parts)}{padding}]"


class PseudoTranslations(NullTranslations):
    def __init__(self) -> None:
        super().__init__()
        with (LOCALE_DIR / "salesbot.pot").open("rb") as handle:
            catalog = read_po(handle)
        self.singular: dict[str, str] = {}
        self.plural: dict[tuple[str, str], tuple[str, str]] = {}
        for message in catalog:
            if not message.id:
                continue
            if isinstance(message.id, str):
                self.singular[message.id] = pseudo(message.id)
            else:
                one, many = message.id[0], message.id[1]
                self.plural[(one, many)] = (pseudo(one), pseudo(many))

    def gettext(self, message: str) -> str:
        return self.singular.get(message, message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        forms = self.plural.get((msgid1, msgid2))
        if forms is None:
            return msgid1 if n == 1 else msgid2
        return forms[0] if n == 1 else forms[1]


def pseudo_language() -> Language:
    """The pseudo-locale (formats dates and numbers as English)."""
    return Language("pseudo", PseudoTranslations(), Locale.parse("en_GB"))
