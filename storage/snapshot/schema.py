"""The snapshot's JSON Schema (draft 2020-12), generated from the field lists.

``schema.json`` beside this module is the committed copy for other tools; a test keeps it
equal to ``build_schema()``. Regenerate it with ``python -m storage.snapshot.schema``.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from typing import Any

from storage.snapshot.fields import FORMAT, OBJECT_SECTIONS, SECTIONS, VERSION, s_object

SCHEMA_ID = "https://salesbot.example/schemas/snapshot-v1.json"


def build_schema() -> dict[str, Any]:
    """The JSON Schema of a version-1 snapshot."""
    properties: dict[str, Any] = {
        "format": {"const": FORMAT, "description": 'Always "salesbot-snapshot".'},
        "version": {"const": VERSION, "description": "Format version."},
        "exported_at": {
            "type": "string",
            "format": "date-time",
            "description": "When the file was written (informational).",
        },
    }
    for name, fields in OBJECT_SECTIONS.items():
        properties[name] = {"description": "Portal-wide switches.", **s_object(fields)}
    for name in SECTIONS:
        properties[name] = {
            "type": "array",
            "description": f"Records of type {name}, upserted by their key.",
            "items": {"$ref": f"#/$defs/{name}"},
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "salesbot CRM snapshot",
        "description": (
            "A whole CRM as one JSON object. Members appear in the order of 'properties'; "
            "records refer to each other by external id. See docs/import-format.md."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": ["format", "version"],
        "properties": properties,
        "$defs": {name: s_object(fields) for name, fields in SECTIONS.items()},
    }


def load_schema() -> dict[str, Any]:
    """The committed ``schema.json`` (package data)."""
    text = resources.files("storage.snapshot").joinpath("schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def render_schema() -> str:
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_schema())
