"""Which DMs are deal questions, and which deal name they carry."""

from __future__ import annotations

import pytest

from insights.questions import deal_question, names_a_deal_topic


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


def test_only_some_questions_name_a_deal_topic_outright() -> None:
    assert names_a_deal_topic("what are the risks on Globex?")
    assert names_a_deal_topic("how is the Acme deal?")
    assert not names_a_deal_topic("how's my schedule going")
