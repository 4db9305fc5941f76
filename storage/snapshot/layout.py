"""The top level of a snapshot: the header first, then each known section once, in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storage.snapshot.fields import FORMAT, ORDER, TOP_LEVEL_SCALARS, VERSION
from storage.snapshot.outcome import Problems

_MISSING_HEADER = 'missing: a snapshot starts with "format" and "version"'


class Layout:
    """Checks each top-level member's name, place and shape as the reader meets it.

    Attributes:
        location: the member being read (named when the database refuses a write).
        seen: the sections met so far.
    """

    def __init__(self, problems: Problems, *, past_pipelines: Callable[[], None]) -> None:
        """``past_pipelines`` runs once a member after "pipelines"' place is met."""
        self.problems = problems
        self.location = "file"
        self.seen: set[str] = set()
        self._past_pipelines = past_pipelines
        self._header: dict[str, Any] = {}
        self._position = -1

    def scalar(self, key: str, value: Any) -> None:
        """A top-level member with a plain value: the header, or a misplaced section."""
        if key not in TOP_LEVEL_SCALARS:
            self.enter(key, is_array=False)
            return
        if key in self._header:
            self.problems.fatal(key, "appears twice")
        self._header[key] = value
        if key == "format" and value != FORMAT:
            self.problems.fatal(
                "format", f"expected {FORMAT!r}, got {value!r}: not a salesbot snapshot"
            )
        if key == "version" and (
            isinstance(value, bool) or not isinstance(value, int) or value != VERSION
        ):
            self.problems.fatal(
                "version", f"unsupported version {value!r} (this salesbot reads version {VERSION})"
            )

    def enter(self, key: str, *, is_array: bool) -> bool:
        """Check a top-level member's name, place and shape; False: skip its content."""
        self.location = key
        if key not in ORDER or key in TOP_LEVEL_SCALARS:
            if key in TOP_LEVEL_SCALARS:
                self.problems.add(key, "expected a plain value")
            else:
                self.problems.add(key, f"unknown top-level key (known: {', '.join(ORDER)})")
            return False
        self.check_header()
        if key in self.seen:
            self.problems.fatal(key, "appears twice")
        position = ORDER.index(key)
        if position < self._position:
            self.problems.fatal(
                key, f"out of order: sections come in the order {', '.join(ORDER[3:])}"
            )
        self._position = position
        self.seen.add(key)
        if position > ORDER.index("pipelines"):
            self._past_pipelines()
        if key == "workspace_settings":
            if is_array:
                self.problems.add(key, "expected an object")
                return False
            return True
        if not is_array:
            self.problems.add(key, "expected an array")
            return False
        return True

    def check_header(self) -> None:
        """Stop unless "format" and "version" came first."""
        if "format" not in self._header or "version" not in self._header:
            self.problems.fatal("format", _MISSING_HEADER)
