"""The domain's phrases (``rules.translatable.Phrase``) in the reader's language.

The domain marks its sentences and names their values; here each template is looked up in
the active catalogue, each value said as the reader's locale says it (numbers and days by
CLDR, nested phrases translated too), and only then is the template filled in.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal

from handlers.i18n import _, current, ngettext
from handlers.i18n.formats import clock, number, short_day
from rules.translatable import Day, Phrase, TimeOfDay


class _ActiveLanguage:
    """The active language (``handlers.i18n.use_language``) as a ``rules.translatable.Speaker``."""

    def gettext(self, message: str) -> str:
        return _(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return ngettext(singular, plural, n)

    def number(self, value: int | Decimal) -> str:
        if isinstance(value, Decimal):  # an amount: "185,000.50" / "185.000,50"
            return str(format_decimal(value, format="#,##0.00", locale=current().locale))
        return number(value)

    def day(self, day: Day) -> str:
        return short_day(day.value, with_year=day.with_year)

    def time_of_day(self, moment: TimeOfDay) -> str:
        return clock(moment.value)


_READER = _ActiveLanguage()


def spoken(words: Phrase | str) -> str:
    """``words`` in the active language; a plain string is an unmarked sentence, shown as
    written unless the catalogue knows it."""
    if isinstance(words, str):
        return _(words) if words else words
    return words.say(_READER)
