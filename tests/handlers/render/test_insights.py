"""Deal Insights blocks: within Slack's limits, cited sources listed, nothing invisible."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from handlers.render.insights import (
    deal_choice_blocks,
    feedback_modal,
    follow_up_blocks,
    insight_blocks,
    insight_modal,
)
from handlers.render.kit import block_problems
from handlers.slack import ids
from insights.finder import find_deal
from insights.llm import InsightWriter
from insights.service import answer_follow_up, deal_insight
from tests.builders import CRM
from tests.support.llm import (
    FakeModel,
    answer,
    completion,
    fake_model,
    seed_budget_cut,
    stub_writer,
)


@pytest.fixture
def model() -> Iterator[FakeModel]:
    with fake_model() as fake:
        yield fake


@pytest.fixture
def writer() -> InsightWriter:
    return stub_writer()


@pytest.fixture
def budget_cut(crm: CRM, now: datetime) -> dict[str, Any]:
    return seed_budget_cut(crm, now)


def _text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks)


def _action_ids_unique(blocks: list[dict[str, Any]]) -> bool:
    for block in blocks:
        if block["type"] == "actions":
            action_ids = [e["action_id"] for e in block["elements"]]
            if len(action_ids) != len(set(action_ids)):
                return False
    return True


def test_answer_shows_three_sections_with_sources_and_buttons(
    session: Session,
    now: datetime,
    model: FakeModel,
    writer: InsightWriter,
    budget_cut: dict[str, Any],
) -> None:
    insight = deal_insight(
        session, deal_id=budget_cut["deal"].id, viewer=budget_cut["ann"], now=now, writer=writer
    )
    blocks = insight_blocks(insight)
    text = _text(blocks)

    assert block_problems(blocks, surface="message") == []
    assert _action_ids_unique(blocks)
    for title in ("*Recent activity*", "*Risks*", "*Buyer goals*"):
        assert title in text
    assert "budget cut" in text and "[1]" in text
    sources = [b for b in blocks if b["type"] == "context"][-2]["elements"][0]["text"]
    assert sources.startswith("[1] Email, Tue 10 Mar: Re: pricing")
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["value"] for b in buttons] == [
        str(insight.request_id),
        f"{insight.request_id}:helpful",
        f"{insight.request_id}:not_helpful",
    ]
    assert buttons[0]["action_id"] == ids.INSIGHTS_SHOW_MORE


def test_the_rep_who_may_not_see_the_email_gets_no_trace_of_it(
    session: Session,
    now: datetime,
    model: FakeModel,
    writer: InsightWriter,
    budget_cut: dict[str, Any],
) -> None:
    insight = deal_insight(
        session, deal_id=budget_cut["deal"].id, viewer=budget_cut["ben"], now=now, writer=writer
    )
    for blocks in (insight_blocks(insight), insight_modal(insight)["blocks"]):
        text = _text(blocks).lower()
        assert "budget" not in text and "pricing" not in text


def test_crm_only_view_says_why_and_has_no_ai_sections(
    session: Session, crm: CRM, now: datetime, budget_cut: dict[str, Any]
) -> None:
    crm.settings(hipaa_sensitive_data=True)
    insight = deal_insight(
        session, deal_id=budget_cut["deal"].id, viewer=budget_cut["ann"], now=now, writer=None
    )
    text = _text(insight_blocks(insight))
    assert "HIPAA" in text
    assert "*Buyer goals*" not in text
    assert "Re: pricing" in text  # the five recent activities are still there


def test_modal_holds_everything_and_a_copyable_text(
    session: Session, crm: CRM, now: datetime, model: FakeModel, writer: InsightWriter
) -> None:
    rep = crm.user()
    deal = crm.deal(rep, name="Big deal " + "x" * 200)
    notes = [
        crm.note(rep, "Worried about budget. " * 80, deals=[deal], at=now - timedelta(hours=i + 1))
        for i in range(100)
    ]
    long_text = "A very long statement about the budget. " * 20
    model.answers(
        answer(
            recent=[(long_text, [n.id]) for n in notes[:5]],
            risks=[(long_text, [n.id]) for n in notes[5:10]],
            goals=[(long_text, [n.id]) for n in notes[10:15]],
        )
    )
    insight = deal_insight(session, deal_id=deal.id, viewer=rep, now=now, writer=writer)

    message, modal = insight_blocks(insight), insight_modal(insight)
    assert block_problems(message, surface="message") == []
    assert block_problems(modal["blocks"], surface="modal") == []
    assert len(modal["title"]["text"]) <= 24
    copy = [b for b in modal["blocks"] if b["type"] == "rich_text"]
    copied = "".join(e["elements"][0]["text"] for b in copy for e in b["elements"])
    assert "Buyer goals" in copied and f"#{notes[14].id}" in copied


def test_deal_choices_are_buttons_and_nothing_found_reveals_nothing(
    session: Session, crm: CRM
) -> None:
    rep, other = crm.user(), crm.user()
    crm.deal(rep, name="Globex expansion")
    crm.deal(rep, name="Globex renewal")
    crm.deal(other, name="Umbrella merger")

    choices = deal_choice_blocks(find_deal(session, viewer=rep, query="globex"))
    assert block_problems(choices, surface="message") == []
    assert _action_ids_unique(choices)
    assert [e["text"]["text"] for e in choices[1]["elements"]] == [
        "Globex expansion",
        "Globex renewal",
    ]
    nothing = _text(deal_choice_blocks(find_deal(session, viewer=rep, query="umbrella")))
    # (the JSON escapes the quotes: “umbrella”)
    assert "No deal you can see matches \\u201cumbrella\\u201d." in nothing
    assert "merger" not in nothing


def test_follow_up_answer_cites_sources(
    session: Session,
    now: datetime,
    model: FakeModel,
    writer: InsightWriter,
    budget_cut: dict[str, Any],
) -> None:
    call = budget_cut["call"]
    statement = {"text": "They want to replace spreadsheets.", "activity_ids": [call.id]}
    model.answers(completion(json.dumps({"statements": [statement]})))
    reply = answer_follow_up(
        session,
        deal_id=budget_cut["deal"].id,
        viewer=budget_cut["ben"],
        question="What do they want?",
        now=now,
        writer=writer,
    )
    blocks = follow_up_blocks(reply)
    assert block_problems(blocks, surface="message") == []
    assert "They want to replace spreadsheets. [1]" in _text(blocks)
    assert "[1] Call, Mon 9 Mar: Kick-off call" in _text(blocks)


def test_feedback_form_carries_the_answer_and_the_verdict() -> None:
    view = feedback_modal(request_id=7, helpful=False)
    assert view["callback_id"] == ids.VIEW_INSIGHTS_FEEDBACK
    assert view["private_metadata"] == "7:not_helpful"
    assert view["submit"]["text"] == "Submit feedback"
