"""Golden copies of rendered views: the visible text, one file per view and language.

Regenerate after an intended wording change with ``SALESBOT_UPDATE_GOLDEN=1 pytest
tests/handlers/i18n`` and read the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def visible_text(blocks: list[dict[str, Any]]) -> str:
    """What a reader sees, one line per block: texts, fields, buttons and menu options."""
    lines = []
    for block in blocks:
        parts = []
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if isinstance(element.get("text"), dict):
                parts.append(f"[{element['text']['text']}]")
            elif "text" in element and isinstance(element["text"], str):
                parts.append(element["text"])
            if isinstance(element.get("placeholder"), dict):
                parts.append(f"({element['placeholder']['text']})")
            parts += [f"<{o['text']['text']}>" for o in element.get("options", [])]
        lines.append(" | ".join(parts) if parts else f"-- {block['type']} --")
    return "\n".join(lines) + "\n"


def matches_golden(name: str, text: str) -> bool:
    """True when ``text`` is the golden copy ``name`` (written first when updating)."""
    path = HERE / name
    if os.environ.get("SALESBOT_UPDATE_GOLDEN") == "1" or not path.exists():
        if os.environ.get("SALESBOT_UPDATE_GOLDEN") != "1":
            return False
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8") == text
