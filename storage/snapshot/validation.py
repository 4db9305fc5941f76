"""Every check on one JSON value, and on one record's members.

A field of ``fields.py`` names its parser here; the importer runs a record through its
``RecordSpec``. A new rule about what a value may be (a number, a date, a string) belongs
in this module, and its message says what is wrong without the path (the importer adds
``section[index].field``).

Checks that need more than a value live beside what they need: bytes that are not JSON in
``reader.py``, the file's header and section order in ``layout.py``, references and
uniqueness against the database in ``resolve.py``, ids repeated across batches in
``upsert.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.snapshot.outcome import Problems
from storage.snapshot.tables import SECTION_TABLES

# Largest values the columns hold on both databases (PostgreSQL INTEGER, NUMERIC(14, 2)).
INT_MAX = 2**31 - 1
AMOUNT_LIMIT = Decimal("1e12")


class FieldError(ValueError):
    """A value that does not fit its field; the message says why, without the path."""


Parser = Callable[[Any], Any]


class Member(Protocol):
    """What a check needs of a field (``fields.Field`` has it)."""

    @property
    def name(self) -> str: ...

    @property
    def parse(self) -> Parser: ...

    @property
    def default(self) -> Any: ...

    @property
    def required(self) -> bool: ...


# Value parsers --------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | Decimal | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _expected(kind: str, value: Any) -> FieldError:
    return FieldError(f"expected {kind}, got {_type_name(value)}")


def nullable(parse: Parser) -> Parser:
    def parse_nullable(value: Any) -> Any:
        return None if value is None else parse(value)

    return parse_nullable


def string(max_length: int, *, min_length: int = 0) -> Parser:
    def parse_string(value: Any) -> str:
        if not isinstance(value, str):
            raise _expected("a string", value)
        if len(value) > max_length:
            raise FieldError(f"longer than {max_length} characters ({len(value)})")
        if len(value) < min_length:
            raise FieldError("must not be empty")
        return value

    return parse_string


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise _expected("a string", value)
    return value


def integer(minimum: int = -INT_MAX, maximum: int = INT_MAX) -> Parser:
    def parse_integer(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _expected("an integer", value)
        if not minimum <= value <= maximum:
            raise FieldError(f"{value} is out of range {minimum}..{maximum}")
        return value

    return parse_integer


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _expected("true or false", value)
    return value


def timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _expected("an ISO 8601 date-time string", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FieldError(f"not an ISO 8601 date-time: {value!r}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise FieldError(f"naive date-time {value!r}: add 'Z' or an offset such as '+01:00'")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise FieldError(f"{value!r} is out of range once converted to UTC") from None


def calendar_date(value: Any) -> date:
    if not isinstance(value, str):
        raise _expected("a date string YYYY-MM-DD", value)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError(f"not a date YYYY-MM-DD: {value!r}") from None


def clock_time(value: Any) -> time:
    if not isinstance(value, str):
        raise _expected("a time string HH:MM", value)
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise FieldError(f"not a time HH:MM: {value!r}") from None
    if parsed.tzinfo is not None:
        raise FieldError("a local time of day takes no offset")
    return parsed


def decimal(minimum: Decimal, maximum: Decimal, *, places: int) -> Parser:
    def parse_decimal(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
            raise _expected("a number", value)
        try:
            number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation:
            raise FieldError(f"not a number: {value!r}") from None
        if number.is_finite() and number < 0 <= minimum:
            raise FieldError(f"{value} is negative")
        if not number.is_finite() or not minimum <= number <= maximum:
            raise FieldError(f"{value} is out of range {minimum}..{maximum}")
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            raise FieldError(f"{value} has more than {places} decimal places")
        return number

    return parse_decimal


def choice(enum_cls: type[StrEnum]) -> Parser:
    values = {member.value: member for member in enum_cls}
    listed = ", ".join(values)

    def parse_choice(value: Any) -> StrEnum:
        if not isinstance(value, str):
            raise _expected("a string", value)
        member = values.get(value)
        if member is None:
            raise FieldError(f"unknown value {value!r} (one of: {listed})")
        return member

    return parse_choice


# Entries of the tz database that name no place ("Factory" means "no zone set yet") or
# are copies of the whole database under another root.
_NOT_A_PLACE = frozenset({"Factory", "localtime", "posixrules"})
_NOT_A_PLACE_ROOTS = ("posix/", "right/")


@lru_cache(maxsize=1024)
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def time_zone(value: Any) -> str:
    if not isinstance(value, str):
        raise _expected("an IANA time zone name", value)
    if value in _NOT_A_PLACE or value.startswith(_NOT_A_PLACE_ROOTS):
        raise FieldError(f"{value!r} is no place's time zone: use one such as 'Europe/Berlin'")
    if not value or not _known_zone(value):
        raise FieldError(f"unknown IANA time zone {value!r}")
    return value


def email_address(value: Any) -> str:
    address: str = string(320)(value)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "." not in domain:
        raise FieldError(f"not an email address: {value!r}")
    return address


def reference(value: Any) -> str:
    """An external id naming another record; resolved by the importer."""
    if not isinstance(value, str) or not value:
        raise _expected("an id string", value)
    return value


def list_of(item: Parser, *, unique: bool = False) -> Parser:
    def parse_list(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise _expected("an array", value)
        parsed = []
        for position, element in enumerate(value):
            try:
                parsed.append(item(element))
            except FieldError as error:
                raise FieldError(f"[{position}]: {error}") from None
        if unique and len(set(parsed)) != len(parsed):
            raise FieldError("lists the same value twice")
        return parsed

    return parse_list


def record_of(fields: Sequence[Member]) -> Parser:
    """A small nested object (a stage, a score, an attendee) checked member by member."""
    by_name = {f.name: f for f in fields}
    required = [f.name for f in fields if f.required]

    def parse_record(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _expected("an object", value)
        parsed: dict[str, Any] = {f.name: f.default for f in fields}
        for name, member in value.items():
            spec = by_name.get(name)
            if spec is None:
                raise FieldError(f".{name}: unknown field")
            try:
                parsed[name] = spec.parse(member)
            except FieldError as error:
                raise FieldError(f".{name}: {error}") from None
        for name in required:
            if name not in value:
                raise FieldError(f".{name}: required")
        return parsed

    return parse_record


# Records ----------------------------------------------------------------------------------


@dataclass
class RecordSpec:
    """Fields of one record type, indexed for the hot path (one dict lookup per member)."""

    section: str
    fields: Sequence[Member]
    by_name: dict[str, Member] = field(init=False)
    defaults: dict[str, Any] = field(init=False)
    required: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.by_name = {f.name: f for f in self.fields}
        self.defaults = {f.name: f.default for f in self.fields}
        self.required = frozenset(f.name for f in self.fields if f.required)

    def parse(self, raw: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Check one record; return its values and (field, message) problems."""
        if not isinstance(raw, dict):
            return {}, [("", f"expected an object, got {_type_name(raw)}")]
        values = self.defaults.copy()
        problems: list[tuple[str, str]] = []
        by_name = self.by_name
        for name, value in raw.items():
            spec = by_name.get(name)
            if spec is None:
                problems.append((name, "unknown field"))
                continue
            if _holds_nul(value):
                # PostgreSQL cannot store it and SQLite would: refused the same on both.
                problems.append((name, "contains a NUL character (\\u0000)"))
                continue
            try:
                values[name] = spec.parse(value)
            except FieldError as error:
                problems.append(_located(name, str(error)))
        missing = self.required.difference(raw)
        for name in sorted(missing):
            problems.append((name, "required"))
        return values, problems


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False


def _located(name: str, message: str) -> tuple[str, str]:
    """Nested problems start with ".member: " or "[n]: ": glue those parts to the path."""
    path = name
    while message.startswith((".", "[")):
        part, separator, rest = message.partition(": ")
        if not separator:
            break
        path, message = path + part, rest
    return path, message


# Records named twice ----------------------------------------------------------------------


def record_key(section: str, values: dict[str, Any]) -> tuple[str, str]:
    """A record's upsert key as one string, and how to name it in a message."""
    if section == "pipelines":
        kind = values["object_type"].value
        return f"{kind}|{values['id']}", f"{kind} pipeline {values['id']!r}"
    if section == "goals":
        return (
            f"{values['user']}|{values['metric'].value}",
            f"goal {values['metric'].value!r} for user {values['user']!r}",
        )
    if section == "user_preferences":
        return values["user"], f"preferences for user {values['user']!r}"
    return values["id"], f"id {values['id']!r}"


class Duplicates:
    """Drops (and reports) records whose key an earlier record already named.

    Small keyed sections (pipelines, goals, preferences) remember every key of the file;
    sections keyed by external id only compare within a batch here, and are checked
    against the database when written (``upsert.py``), which scales to any file.
    """

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self._seen: dict[str, set[str]] = {}

    def drop(
        self, section: str, parsed: list[tuple[int, dict[str, Any]]]
    ) -> list[tuple[int, dict[str, Any]]]:
        """The records of one batch whose key is new; a problem for each other one."""
        remembers = section == "pipelines" or not SECTION_TABLES[section].by_external_id
        seen = self._seen.setdefault(section, set()) if remembers else set()
        fresh = []
        for item in parsed:
            key, what = record_key(section, item[1])
            if key in seen:
                self.problems.add(f"{section}[{item[0]}]", f"duplicate {what} in the file")
                continue
            seen.add(key)
            fresh.append(item)
        return fresh
