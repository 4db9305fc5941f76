"""Dates, times, numbers and money in the active language's CLDR locale (Babel).

Every renderer formats through these functions, never with ``strftime`` or ``:,``, so a
German reader sees "Montag, 30. November", "09:00" and "185.000 $" and an English one
"Monday, 30 November", "09:00" and "US$185,000".
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import format_currency, format_decimal

from handlers.i18n import _, current

# The year in a CLDR date pattern, with the separator before it (", y", " y", " 'г'.").
_YEAR = re.compile(r"[,\s]*\by+\b[^\sdEMLc]*")


def day_title(day: date) -> str:
    """A digest's date: "Monday 30 November" / "Montag, 30. November" (CLDR's full date
    without the year)."""
    full = current().locale.date_formats["full"].pattern
    return str(format_date(day, _YEAR.sub("", full).strip(" ,"), locale=current().locale))


def short_day(day: date | datetime, *, with_year: bool = False) -> str:
    """ "Mon 30 Nov" / "Mo., 30. Nov." ("Mon, 30 Nov 2026" / "Mo., 30. Nov. 2026")."""
    return str(format_skeleton("yMMMEd" if with_year else "MMMEd", day, locale=current().locale))


def clock(moment: datetime | time) -> str:
    """A time of day as the locale writes it: "09:00" (en_GB, German), "9:00 AM" (en_US)."""
    return str(format_time(moment, "short", locale=current().locale))


def short_moment(moment: datetime) -> str:
    """A local date and time as people read it: "Mon 30 Nov 09:00"."""
    return f"{short_day(moment)} {clock(moment)}"


def full_date(day: date | datetime) -> str:
    """ "30 Nov 2026" / "30.11.2026"."""
    return str(format_date(day, "medium", locale=current().locale))


def number(value: int | float) -> str:
    """ "185,000" / "185.000"."""
    return str(format_decimal(value, format="#,##0", locale=current().locale))


def money(amount: Decimal | float, currency: str) -> str:
    """An amount in its currency without cents, as CLDR writes it: "US$185,000" / "185.000 $"."""
    locale = current().locale
    pattern = locale.currency_formats["standard"].pattern.replace(".00", "")
    return str(
        format_currency(
            round(amount), currency or "USD", pattern, locale=locale, currency_digits=False
        )
    )


def first_weekday() -> int:
    """The locale's first day of the week, 0 = Monday (CLDR's week data)."""
    return int(current().locale.first_week_day)


def weekday_names() -> list[str]:
    """Monday to Sunday, in the active language ("Montag" ...)."""
    names = current().locale.days["format"]["wide"]
    return [str(names[day]) for day in range(7)]


def language_name(code: str) -> str:
    """A language as its speakers write it ("Deutsch", "English"): people look for their own."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def relative_day(day: date, *, today: date) -> str:
    """ "today", "tomorrow", else "Thu 12 Mar" (with the year when it is not this year)."""
    if day == today:
        return _("today")
    if (day - today).days == 1:
        return _("tomorrow")
    return short_day(day) if day.year == today.year else full_date(day)
