"""Marking the domain's user-facing wording for the catalogues, without translating it.

The domain stays language-agnostic: it writes English and marks it with ``N_`` (or
``N_plural`` when a number chooses the form) so that ``make messages`` (pybabel) extracts
it; ``handlers`` translates it where it is shown, in the reader's language
(``handlers.i18n``). Templates keep their ``{placeholders}`` and are formatted after
translation.

A sentence that needs values is a :class:`Phrase`: the marked template and its named
values. A value is CRM data shown as written (``str``: a subject, a person's name, a stage),
a number (``int``), a calendar day (:class:`Day`, formatted as the reader's locale writes
it), a time of day (:class:`TimeOfDay`, likewise: "9:14 AM", "09:14"), another ``Phrase``
(a word the domain chose, such as "tomorrow", translated too), or a tuple of phrases (a
list, joined with commas). So no sentence mixes two languages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Protocol, TypeAlias

logger = logging.getLogger(__name__)


def N_(message: str) -> str:
    """``message`` unchanged: marked for extraction, translated by whoever shows it."""
    return message


@dataclass(frozen=True)
class Plural:
    """A template in two forms, chosen by the ``count`` value of its phrase."""

    singular: str
    plural: str


def N_plural(singular: str, plural: str) -> Plural:
    """Mark a template whose form depends on ``{count}`` (extracted as a plural entry)."""
    return Plural(singular, plural)


@dataclass(frozen=True)
class Day:
    """A calendar day inside a sentence, written as the reader's locale writes a short date
    ("Fri 20 Mar", "Fr., 20. März"), with the year when it is not this year's."""

    value: date
    with_year: bool = False


@dataclass(frozen=True)
class TimeOfDay:
    """A time of day inside a sentence ("completed by Dana at 9:14"), already on the
    reader's wall clock, written as the reader's locale writes a short time ("9:14 AM" in
    en-US, "09:14" in German and en-GB)."""

    value: datetime | time


# A Decimal is an amount of money: written with two decimals.
Param: TypeAlias = "str | int | Decimal | Day | TimeOfDay | Phrase | tuple[Phrase, ...]"


class Speaker(Protocol):
    """How one language says things: its catalogue and its CLDR formats."""

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...

    def number(self, value: int | Decimal) -> str: ...

    def day(self, day: Day) -> str: ...

    def time_of_day(self, moment: TimeOfDay) -> str: ...


@dataclass(frozen=True)
class Phrase:
    """Words for a user, translated where they are shown (``handlers.i18n.phrases.spoken``).

    ``template`` is a msgid marked with ``N_`` (or ``N_plural``, with an int ``count``
    among ``params``). An unmarked English string is shown as written: translated if the
    catalogue happens to know it, formatted only when it has params.
    """

    template: str | Plural
    params: Mapping[str, Param] = field(default_factory=dict)

    def say(self, speaker: Speaker) -> str:
        """This phrase as ``speaker`` says it; its source English if a translation is broken."""
        text = self._template(speaker)
        if not self.params:
            return text
        values = {name: _value(value, speaker) for name, value in self.params.items()}
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            logger.error("translation of %r does not fit its placeholders", self.template)
            return self._template(ENGLISH).format(**values)

    def _template(self, speaker: Speaker) -> str:
        if isinstance(self.template, Plural):
            count = self.params.get("count")
            n = count if isinstance(count, int) else 0
            return speaker.ngettext(self.template.singular, self.template.plural, n)
        return speaker.gettext(self.template)

    def __str__(self) -> str:
        """The source English (logs, the command line, tests)."""
        return self.say(ENGLISH)


def phrase(template: str | Plural, /, **params: Param) -> Phrase:
    """A :class:`Phrase`: ``phrase(N_("Done: {task} completed."), task=...)``."""
    return Phrase(template, params)


def _value(value: Param, speaker: Speaker) -> str:
    if isinstance(value, Phrase):
        return value.say(speaker)
    if isinstance(value, Day):
        return speaker.day(value)
    if isinstance(value, TimeOfDay):
        return speaker.time_of_day(value)
    if isinstance(value, bool):  # a bool is an int: never meant as a number here
        return str(value)
    if isinstance(value, int | Decimal):
        return speaker.number(value)
    if isinstance(value, tuple):
        return ", ".join(part.say(speaker) for part in value)
    return value


class _SourceEnglish:
    """The source strings, with simple English formats (no Babel in the domain)."""

    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural

    def number(self, value: int | Decimal) -> str:
        return f"{value:,.2f}" if isinstance(value, Decimal) else f"{value:,}"

    def day(self, day: Day) -> str:
        text = f"{day.value:%a} {day.value.day} {day.value:%b}"
        return f"{text} {day.value.year}" if day.with_year else text

    def time_of_day(self, moment: TimeOfDay) -> str:
        return f"{moment.value.hour}:{moment.value.minute:02d}"


ENGLISH: Speaker = _SourceEnglish()
