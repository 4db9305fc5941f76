"""Streaming a snapshot file: top-level members one by one, array items one at a time.

ijson's C backend lexes the file; a small builder turns the events of one record into a
dict. Only the record being read is held in memory, whatever the size of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import ijson


class MalformedJSON(ValueError):
    """The file is not JSON (or is cut short); the message says where if ijson knows."""


@dataclass(frozen=True, slots=True)
class Scalar:
    """A top-level member whose value is a string, number, boolean or null."""

    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class Whole:
    """A top-level member whose value is an object, read whole (it is small)."""

    key: str
    value: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SectionStart:
    key: str


@dataclass(frozen=True, slots=True)
class Item:
    key: str
    index: int
    value: Any


@dataclass(frozen=True, slots=True)
class SectionEnd:
    key: str
    count: int


Event = Scalar | Whole | SectionStart | Item | SectionEnd


class CountingReader:
    """A binary file wrapper that counts the bytes handed to the parser (for progress)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self.bytes_read += len(chunk)
        return chunk


def read_events(source: BinaryIO | CountingReader) -> Iterator[Event]:
    """Yield the top-level members of a snapshot in file order.

    Raises:
        MalformedJSON: the bytes are not one JSON object (truncated, garbage, not an object).
    """
    events = ijson.basic_parse(source, use_float=False)
    try:
        yield from _members(events)
    except RecursionError:
        raise MalformedJSON("malformed JSON: nested too deeply") from None
    except ijson.JSONError as error:
        # yajl's messages span lines with a caret drawing; the first line says it.
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "error"
        raise MalformedJSON(f"malformed JSON: {first_line} (truncated or not JSON?)") from None


def _members(events: Iterator[tuple[str, Any]]) -> Iterator[Event]:
    _open_top_level(events)
    for event, value in events:
        if event == "end_map":
            break
        key = value  # event is "map_key" at this depth
        event, value = next(events)
        if event == "start_array":
            yield from _section(key, events)
        elif event == "start_map":
            yield Whole(key, _build_map(events))
        else:
            yield Scalar(key, value)
    trailing = next(events, None)
    if trailing is not None:
        raise MalformedJSON("unexpected data after the top-level object")


def _open_top_level(events: Iterator[tuple[str, Any]]) -> None:
    """Read the opening brace; refuse an empty file and any other top level."""
    try:
        first = next(events, None)
    except ijson.IncompleteJSONError:
        first = None
    if first is None:
        raise MalformedJSON("the file is empty")
    if first[0] != "start_map":
        raise MalformedJSON("the top level must be a JSON object")


def _section(key: str, events: Iterator[tuple[str, Any]]) -> Iterator[Event]:
    """An array member: its start, each item, its end (with the item count)."""
    yield SectionStart(key)
    index = 0
    for event, value in events:
        if event == "end_array":
            break
        yield Item(key, index, _value(event, value, events))
        index += 1
    yield SectionEnd(key, index)


def _value(event: str, value: Any, events: Iterator[tuple[str, Any]]) -> Any:
    if event == "start_map":
        return _build_map(events)
    if event == "start_array":
        return _build_array(events)
    return value


# Two small mutually recursive builders: a member's key and value are read together,
# which is a quarter faster than a generic stack machine (records are small and flat).
def _build_map(events: Iterator[tuple[str, Any]]) -> dict[str, Any]:
    built: dict[str, Any] = {}
    for event, key in events:
        if event != "map_key":  # end_map
            return built
        event, value = next(events)
        if event == "start_map":
            value = _build_map(events)
        elif event == "start_array":
            value = _build_array(events)
        built[key] = value
    raise MalformedJSON("malformed JSON: the file ends inside a record")


def _build_array(events: Iterator[tuple[str, Any]]) -> list[Any]:
    built: list[Any] = []
    for event, value in events:
        if event == "end_array":
            return built
        if event == "start_map":
            value = _build_map(events)
        elif event == "start_array":
            value = _build_array(events)
        built.append(value)
    raise MalformedJSON("malformed JSON: the file ends inside a record")
