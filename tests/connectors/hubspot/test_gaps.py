"""The sentences ``--explain`` says about HubSpot are the ones docs/hubspot.md shows."""

from __future__ import annotations

from pathlib import Path

from connectors.hubspot.gaps import GAPS, gaps_for, markdown_table
from rules.guided_actions.catalog import RULES

DOCS = Path(__file__).resolve().parents[3] / "docs" / "hubspot.md"


def test_the_docs_table_is_the_connectors_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert markdown_table() in text, (
        "docs/hubspot.md, 'What `--explain` says about HubSpot', must hold this table:\n"
        + markdown_table()
    )


def test_every_gap_names_real_rules_and_one_sentence() -> None:
    numbers = {rule.number for rule in RULES}
    for gap in GAPS:
        assert set(gap.rules) <= numbers, gap.topic
        assert gap.sentence.endswith(".") and gap.sentence.count(". ") == 0, gap.topic
    assert [g.topic for g in gaps_for(4)] == ["sequences", "roles and visibility"]
