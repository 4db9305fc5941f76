"""Streaming a snapshot file: top-level members one by one, array items one at a time.

ijson's C backend lexes the file; a small builder turns the events of one record into a
dict. Only the record being read is held in memory, whatever the size of the file.

Everything the bytes can do wrong ends as ``MalformedJSON`` with a place: a byte-order mark
or UTF-16 (byte 0), bytes that are not UTF-8 (their byte offset), a ``\\u`` escape of a
lone surrogate or a key given twice in one record (the record and the field).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import ijson

_SCAN_CHUNK = 1 << 20


class MalformedJSON(ValueError):
    """The file is not JSON (or is cut short); ``path`` names the record and field if known.

    Attributes:
        path: e.g. ``users[2].name``; "file" when only the file as a whole can be named.
        message: what is wrong, without the path.
    """

    def __init__(self, message: str, *, path: str = "file") -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class _BadMember(Exception):
    """Raised inside a record; each enclosing builder prepends its part of the path."""

    def __init__(
        self, message: str = "", path: str = "", *, cause: BaseException | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.cause = cause


_LONE_SURROGATE = "text that is not Unicode: a \\u escape of a lone surrogate (such as \\udfff)"


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
        if self.bytes_read == 0 and chunk:
            _check_encoding(chunk)
        self.bytes_read += len(chunk)
        return chunk

    def first_invalid_utf8(self) -> int | None:
        """The byte offset of the first byte that is not UTF-8 (None if unknown or none)."""
        try:
            self._raw.seek(0)
        except (AttributeError, OSError, ValueError):
            return None
        decoder = codecs.getincrementaldecoder("utf-8")()
        consumed = 0
        while chunk := self._raw.read(_SCAN_CHUNK):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                return consumed - pending + error.start
            consumed += len(chunk)
        return None


def _check_encoding(head: bytes) -> None:
    if head.startswith(codecs.BOM_UTF8):
        raise MalformedJSON(
            "the file starts with a UTF-8 byte-order mark (byte 0): save it as UTF-8 without a BOM"
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head[:2]:
        raise MalformedJSON("the file is UTF-16 or UTF-32 (byte 0): save it as UTF-8")


def read_events(source: CountingReader) -> Iterator[Event]:
    """Yield the top-level members of a snapshot in file order.

    Raises:
        MalformedJSON: the bytes are not one JSON object (truncated, garbage, not an object,
            not UTF-8, a key twice in a record); located at the record and member if known.
    """
    events = ijson.basic_parse(source, use_float=False)
    try:
        yield from _members(events)
    except RecursionError:
        raise MalformedJSON("malformed JSON: nested too deeply") from None
    except _BadMember as error:
        message = _explain(error.cause, source) if error.cause else error.message
        raise MalformedJSON(message, path=error.path or "file") from None
    except (UnicodeDecodeError, ijson.JSONError) as error:
        raise MalformedJSON(_explain(error, source)) from None


def _explain(error: BaseException, source: CountingReader) -> str:
    """One line on what the lexer choked on."""
    if isinstance(error, UnicodeDecodeError):
        return _LONE_SURROGATE
    text = str(error)
    if "UTF8" in text or "UTF-8" in text:
        offset = source.first_invalid_utf8()
        return _LONE_SURROGATE if offset is None else f"not UTF-8 at byte {offset}: save as UTF-8"
    if "NaN" in text or "Infinity" in text:
        return "NaN and Infinity are not JSON numbers"
    # yajl's messages span lines with a caret drawing; the first line says it.
    first_line = text.strip().splitlines()[0].lstrip("b'\"") if text.strip() else "error"
    return f"malformed JSON: {first_line} (truncated or not JSON?)"


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
            yield Whole(key, _whole(key, events))
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
    try:
        for event, value in events:
            if event == "end_array":
                break
            yield Item(key, index, _value(event, value, events))
            index += 1
    except _BadMember as error:
        error.path = f"{key}[{index}]{error.path}"
        raise
    except (UnicodeDecodeError, ijson.JSONError) as error:
        raise _BadMember(path=f"{key}[{index}]", cause=error) from None
    yield SectionEnd(key, index)


def _whole(key: str, events: Iterator[tuple[str, Any]]) -> dict[str, Any]:
    """An object member (such as ``workspace``), read whole."""
    try:
        return _build_map(events)
    except _BadMember as error:
        error.path = f"{key}{error.path}"
        raise
    except (UnicodeDecodeError, ijson.JSONError) as error:
        raise _BadMember(path=key, cause=error) from None


def _value(event: str, value: Any, events: Iterator[tuple[str, Any]]) -> Any:
    if event == "start_map":
        return _build_map(events)
    if event == "start_array":
        return _build_array(events)
    return value


# Two small mutually recursive builders: a member's key and value are read together,
# which is a quarter faster than a generic stack machine (records are small and flat).
# A failure inside is re-raised as ``_BadMember`` with the path of the member.
def _build_map(events: Iterator[tuple[str, Any]]) -> dict[str, Any]:
    built: dict[str, Any] = {}
    key = None
    try:
        for event, key in events:
            if event != "map_key":  # end_map
                return built
            if key in built:
                raise _BadMember("given twice in one record")
            event, value = next(events)
            if event == "start_map":
                value = _build_map(events)
            elif event == "start_array":
                value = _build_array(events)
            built[key] = value
    except (UnicodeDecodeError, ijson.JSONError) as error:
        # In the value of ``key``; once that is stored, in the name of the next member.
        place = " (a member name)" if key is None or key in built else f".{key}"
        raise _BadMember(path=place, cause=error) from None
    except _BadMember as inner:
        if key is not None:
            inner.path = f".{key}{inner.path}"
        raise
    raise MalformedJSON("malformed JSON: the file ends inside a record")


def _build_array(events: Iterator[tuple[str, Any]]) -> list[Any]:
    built: list[Any] = []
    try:
        for event, value in events:
            if event == "end_array":
                return built
            if event == "start_map":
                value = _build_map(events)
            elif event == "start_array":
                value = _build_array(events)
            built.append(value)
    except (UnicodeDecodeError, ijson.JSONError) as error:
        raise _BadMember(path=f"[{len(built)}]", cause=error) from None
    except _BadMember as inner:
        inner.path = f"[{len(built)}]{inner.path}"
        raise
    raise MalformedJSON("malformed JSON: the file ends inside a record")
