"""What a form showed, so that saving it writes only what the user changed.

A form (an edit modal) shows a record's values; by the time it is submitted, a colleague, an
automation or the CRM sync may have changed some of them. A field the user left as shown is
not the user's to write, and a field the user changed that someone else changed meanwhile is
not overwritten unseen. Forms keep short fingerprints of what they showed (their metadata has
little room) and hand them back with the submission.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


def fingerprint(value: object) -> str:
    """A short, stable fingerprint of a value as a form shows it (times to the minute)."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).replace(second=0, microsecond=0).isoformat()
    elif isinstance(value, StrEnum):
        value = value.value
    elif isinstance(value, Decimal):  # 185000 and 185000.00 are one amount
        value = value.normalize()
    elif isinstance(value, str):
        value = value.strip()
    return hashlib.sha256(str(value if value is not None else "").encode()).hexdigest()[:16]


def fingerprints(shown: Mapping[str, object]) -> dict[str, str]:
    return {name: fingerprint(value) for name, value in shown.items()}


def touched(changes: Mapping[str, Any], shown: Mapping[str, str]) -> dict[str, Any]:
    """The fields of ``changes`` that differ from what the form showed."""
    return {name: value for name, value in changes.items() if shown.get(name) != fingerprint(value)}


def moved(names: Mapping[str, Any], shown: Mapping[str, str], current: Mapping[str, str]) -> bool:
    """Whether one of ``names`` has changed since the form showed it (``current``: the
    fingerprints of the record now)."""
    return any(name in shown and shown[name] != current.get(name) for name in names)
