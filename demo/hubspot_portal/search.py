"""The CRM search API: filter groups, one sort, ``after`` paging and the 10,000-result cap.

From HubSpot's search guide: filters inside a group are ANDed, groups are ORed; at most 5
groups, 6 filters per group and 18 in all (the smaller of the documented numbers); one sort;
pages of at most 200; ``after`` is an offset; a query can reach at most 10,000 results in
total (asking for a page past that answers 400). Values compare as numbers when both sides
are numbers, as instants when the property holds a timestamp (filters may give epoch
milliseconds or ISO-8601), and otherwise as case-insensitive strings.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from demo.hubspot_portal.portal import PortalError, Record
from demo.hubspot_portal.schema import parse_time

MAX_PAGE = 200
MAX_TOTAL = 10_000
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18

_Comparable = tuple[int, Any]


@dataclass(frozen=True)
class SearchPage:
    total: int
    results: list[Record]
    next_after: str | None


def search(records: list[Record], body: dict[str, Any]) -> SearchPage:
    """Answer one search request over ``records`` (the live records of one type)."""
    groups = body.get("filterGroups") or []
    _check_limits(groups)
    limit = int(body.get("limit") or 10)
    if not 0 < limit <= MAX_PAGE:
        raise PortalError(400, "VALIDATION_ERROR", f"limit must be between 1 and {MAX_PAGE}")
    after = int(body.get("after") or 0)
    if after >= MAX_TOTAL:
        # HubSpot answers 400 once paging reaches the cap, whatever the total.
        raise PortalError(
            400,
            "VALIDATION_ERROR",
            f"There was a problem with the request. Search results are limited to "
            f"{MAX_TOTAL} total results (after={after}).",
        )
    query = str(body.get("query") or "").strip().lower()
    predicates = [[_predicate(f) for f in group.get("filters") or []] for group in groups]
    matched = [
        r
        for r in records
        if (not predicates or any(all(p(r) for p in group) for group in predicates))
        and (not query or _matches_query(r, query))
    ]
    matched.sort(key=_sort_key(body.get("sorts") or []))
    page = matched[after : min(after + limit, MAX_TOTAL)]
    end = after + len(page)
    next_after = str(end) if end < len(matched) else None
    return SearchPage(total=len(matched), results=page, next_after=next_after)


def _check_limits(groups: list[dict[str, Any]]) -> None:
    count = sum(len(g.get("filters") or []) for g in groups)
    if (
        len(groups) > MAX_GROUPS
        or any(len(g.get("filters") or []) > MAX_FILTERS_PER_GROUP for g in groups)
        or count > MAX_FILTERS
    ):
        raise PortalError(
            400,
            "VALIDATION_ERROR",
            f"Too many filters: at most {MAX_GROUPS} filterGroups of {MAX_FILTERS_PER_GROUP} "
            f"filters, {MAX_FILTERS} in all",
        )


def _matches_query(record: Record, query: str) -> bool:
    return any(query in (value or "").lower() for value in record.properties.values())


def _value(record: Record, name: str) -> str | None:
    if name in ("hs_object_id", "id"):
        return record.id
    value = record.properties.get(name)
    return value if value not in (None, "") else None


@functools.lru_cache(maxsize=200_000)
def _comparable(value: str) -> _Comparable:
    """A sortable form: numbers before instants before strings, each compared in kind."""
    try:
        return (0, float(value))
    except ValueError:
        pass
    moment = parse_time(value)
    if moment is not None:
        return (1, moment.timestamp())
    return (2, value.lower())


class _FilterValue:
    """A filter's value, ready to compare with a stored value of either kind."""

    def __init__(self, text: str) -> None:
        self.plain = _comparable(text)
        moment = parse_time(text)
        # A date property filtered with epoch milliseconds compares as instants.
        self.instant = (1, moment.timestamp()) if moment is not None else None

    def against(self, stored: _Comparable) -> _Comparable:
        if stored[0] == 1 and self.instant is not None:
            return self.instant
        return self.plain


Predicate = Callable[[Record], bool]


def _predicate(spec: dict[str, Any]) -> Predicate:
    """One filter as a test on a record (each operator's builder is below)."""
    name = spec.get("propertyName")
    operator = str(spec.get("operator") or "EQ").upper()
    if not name:
        raise PortalError(400, "VALIDATION_ERROR", "A filter needs a propertyName")
    build = _BUILDERS.get(operator)
    if build is None:
        raise PortalError(400, "VALIDATION_ERROR", f"Unknown operator {operator}")
    return build(str(name), operator, spec)


def _has(name: str, operator: str, _spec: dict[str, Any]) -> Predicate:
    present = operator == "HAS_PROPERTY"
    return lambda r: (_value(r, name) is not None) == present


def _in(name: str, operator: str, spec: dict[str, Any]) -> Predicate:
    wanted = {str(v).lower() for v in spec.get("values") or []}
    inside = operator == "IN"
    return lambda r: ((_value(r, name) or "").lower() in wanted) == inside


def _token(name: str, operator: str, spec: dict[str, Any]) -> Predicate:
    token = str(spec.get("value") or "").strip("*").lower()
    contains = operator == "CONTAINS_TOKEN"
    return lambda r: (token in (_value(r, name) or "").lower()) == contains


def _required(spec: dict[str, Any], key: str, operator: str) -> _FilterValue:
    raw = spec.get(key)
    if raw is None:
        raise PortalError(400, "VALIDATION_ERROR", f"Filter {operator} needs a {key}")
    return _FilterValue(str(raw))


def _between(name: str, operator: str, spec: dict[str, Any]) -> Predicate:
    low, top = _required(spec, "value", operator), _required(spec, "highValue", operator)

    def between(r: Record) -> bool:
        stored = _value(r, name)
        if stored is None:
            return False
        current = _comparable(stored)
        low_c, high_c = low.against(current), top.against(current)
        return low_c[0] == current[0] == high_c[0] and low_c[1] <= current[1] <= high_c[1]

    return between


def _compare(name: str, operator: str, spec: dict[str, Any]) -> Predicate:
    wanted_value = _required(spec, "value", operator)
    compare = _COMPARISONS[operator]

    def check(r: Record) -> bool:
        stored = _value(r, name)
        if stored is None:
            # HubSpot: a record without the property matches NEQ, and nothing else.
            return operator == "NEQ"
        current = _comparable(stored)
        wanted = wanted_value.against(current)
        if current[0] != wanted[0]:
            return operator == "NEQ"
        return compare(current[1], wanted[1])

    return check


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": lambda a, b: a == b,
    "NEQ": lambda a, b: a != b,
    "LT": lambda a, b: a < b,
    "LTE": lambda a, b: a <= b,
    "GT": lambda a, b: a > b,
    "GTE": lambda a, b: a >= b,
}
_BUILDERS: dict[str, Callable[[str, str, dict[str, Any]], Predicate]] = {
    "HAS_PROPERTY": _has,
    "NOT_HAS_PROPERTY": _has,
    "IN": _in,
    "NOT_IN": _in,
    "CONTAINS_TOKEN": _token,
    "NOT_CONTAINS_TOKEN": _token,
    "BETWEEN": _between,
    **{operator: _compare for operator in ("EQ", "NEQ", "LT", "LTE", "GT", "GTE")},
}


def _sort_key(sorts: list[Any]) -> Callable[[Record], Any]:
    if len(sorts) > 1:
        raise PortalError(400, "VALIDATION_ERROR", "Only one sort is allowed")
    name, descending = "hs_object_id", False
    if sorts:
        spec = sorts[0]
        if isinstance(spec, str) and spec.startswith("{"):
            spec = json.loads(spec)
        if isinstance(spec, str):
            # The client's model types sorts as strings: a property name, "-name" descending.
            descending = spec.startswith("-")
            name = spec.lstrip("-")
        else:
            name = str(spec.get("propertyName") or "hs_object_id")
            descending = str(spec.get("direction") or "ASCENDING").upper() == "DESCENDING"

    def key(record: Record) -> Any:
        stored = _value(record, name)
        # Records without the value sort last either way; ties fall back to the id.
        missing = stored is None
        comparable = _comparable(stored) if stored is not None else (3, 0)
        ident = int(record.id) if record.id.isdigit() else 0
        if descending:
            return (missing, _Reversed(comparable), -ident)
        return (missing, comparable, ident)

    return key


class _Reversed:
    """Inverts ordering for one sort component (values of mixed kinds cannot be negated)."""

    def __init__(self, value: _Comparable) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return other.value < self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)
