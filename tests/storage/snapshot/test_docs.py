"""The import-format guide shows the committed example and names every field."""

from __future__ import annotations

import json
import re
from pathlib import Path

from storage.snapshot.fields import OBJECT_SECTIONS, SECTIONS
from tests.storage.snapshot.conftest import EXAMPLE

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "import-format.md"


def test_the_worked_example_in_the_guide_is_the_committed_file() -> None:
    text = GUIDE.read_text("utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)

    assert json.loads(EXAMPLE.read_text("utf-8")) in [json.loads(b) for b in blocks]


def test_the_guide_lists_every_field_of_every_section() -> None:
    text = GUIDE.read_text("utf-8")
    for section, fields in {**OBJECT_SECTIONS, **SECTIONS}.items():
        part = text.split(f"### `{section}`", 1)
        assert len(part) == 2, f"no heading for {section}"
        table = part[1].split("###", 1)[0]
        missing = [f.name for f in fields if f"| `{f.name}` |" not in table]
        assert missing == [], f"{section}: {missing}"
