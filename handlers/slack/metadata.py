"""A modal's ``private_metadata``: what a form carries from its opening to its submission.

It comes back from Slack in the submission, so it is read defensively: anything that is not
a JSON object we wrote reads as ``{}``, and every value in it is re-checked by the domain.
"""

from __future__ import annotations

import json
from typing import Any

from handlers.render.kit import PRIVATE_METADATA


def metadata(**values: Any) -> str:
    """Private metadata for a modal: compact JSON (Slack allows 3,000 characters)."""
    return json.dumps(values, separators=(",", ":"))[:PRIVATE_METADATA]


def read_metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The modal's metadata; {} when it is missing or not ours."""
    try:
        value = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def shown_fingerprints(meta: dict[str, Any]) -> dict[str, str] | None:
    """An edit form's fingerprints of what it showed (``rules.shown_values``), back from its
    metadata; None when absent or not ours."""
    shown = meta.get("shown")
    if not isinstance(shown, dict):
        return None
    return {str(k): v for k, v in shown.items() if isinstance(v, str)}
