"""Which DMs are deal questions, and which deal name they carry."""

from __future__ import annotations

import pytest

from insights.questions import deal_question


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("how is the Acme deal?", "Acme"),
        ("What are the risks on Globex?", "Globex"),
        ("insights for Initech renewal please", "Initech renewal"),
        ("<@U123> how's Umbrella Corp doing", "Umbrella Corp"),
        ("what about AT&T expansion deal", "AT&T expansion"),
    ],
)
def test_deal_questions_give_the_deal_name(text: str, query: str) -> None:
    assert deal_question(text) == query


@pytest.mark.parametrize("text", ["hello", "thanks!", "show my tasks", "how is the deal?"])
def test_other_messages_are_not_deal_questions(text: str) -> None:
    assert deal_question(text) is None
