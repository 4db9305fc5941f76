"""Follow-up questions in a thread: same permitted evidence, cited answers, same gate."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from insights.llm import InsightWriter
from insights.prompt import QUESTION_CLOSE, QUESTION_OPEN
from insights.service import (
    AiStatus,
    answer_follow_up,
    deal_insight,
    deal_of_thread,
    link_message,
)
from tests.builders import CRM
from tests.support.llm import FakeModel, completion


def test_follow_up_uses_the_askers_evidence_and_checks_citations(
    session: Session,
    now: datetime,
    model: FakeModel,
    writer: InsightWriter,
    budget_cut: dict[str, Any],
) -> None:
    email, call = budget_cut["email"], budget_cut["call"]
    model.answers(
        completion(
            json.dumps(
                {
                    "statements": [
                        {"text": "The goal is to replace spreadsheets.", "activity_ids": [call.id]},
                        {"text": "Their budget was cut.", "activity_ids": [email.id]},
                    ]
                }
            )
        )
    )
    answer = answer_follow_up(
        session,
        deal_id=budget_cut["deal"].id,
        viewer=budget_cut["ben"],
        question="What does the buyer want to achieve?",
        now=now,
        writer=writer,
    )
    (prompt,) = model.prompts()
    assert f"{QUESTION_OPEN}\nWhat does the buyer want to achieve?\n{QUESTION_CLOSE}" in prompt
    assert "budget cut" not in prompt
    assert answer.ai_status is AiStatus.USED
    assert [(s.text, s.activity_ids) for s in answer.statements] == [
        ("The goal is to replace spreadsheets.", (call.id,))
    ]


def test_follow_up_under_hipaa_makes_no_call(
    session: Session,
    crm: CRM,
    now: datetime,
    model: FakeModel,
    writer: InsightWriter,
    budget_cut: dict[str, Any],
) -> None:
    crm.settings(hipaa_sensitive_data=True)
    answer = answer_follow_up(
        session,
        deal_id=budget_cut["deal"].id,
        viewer=budget_cut["ann"],
        question="Any budget issues?",
        now=now,
        writer=writer,
    )
    assert model.calls == 0
    assert answer.statements == () and answer.ai_status is AiStatus.HIPAA
    assert [a.id for a in answer.recent] == [budget_cut["email"].id, budget_cut["call"].id]


def test_a_thread_belongs_to_the_deal_and_the_user_who_asked(
    session: Session, now: datetime, budget_cut: dict[str, Any]
) -> None:
    insight = deal_insight(
        session, deal_id=budget_cut["deal"].id, viewer=budget_cut["ben"], now=now, writer=None
    )
    assert insight.request_id is not None
    link_message(session, request_id=insight.request_id, channel_id="D1", ts="1700000000.000100")
    found = deal_of_thread(
        session, viewer=budget_cut["ben"], channel_id="D1", thread_ts="1700000000.000100"
    )
    assert found == budget_cut["deal"].id
    assert (
        deal_of_thread(
            session, viewer=budget_cut["ann"], channel_id="D1", thread_ts="1700000000.000100"
        )
        is None
    )
    assert deal_of_thread(session, viewer=budget_cut["ben"], channel_id="D1", thread_ts="1") is None
