"""Deal Insights through Slack: /sales deal, DM questions, follow-ups, Show more, feedback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from handlers.render.insights import FEEDBACK_INPUT_ACTION, FEEDBACK_INPUT_BLOCK
from handlers.slack import ids
from storage.models import InsightFeedback, InsightRequest
from tests.builders import CRM
from tests.support.app import RunningApp, start_app
from tests.support.llm import BASE_URL, MODEL, FakeModel, completion, fake_model, seed_budget_cut
from tests.support.slack_api import SlackStandIn


@pytest.fixture
def model() -> Iterator[FakeModel]:
    with fake_model() as fake:
        yield fake


@pytest.fixture
def seeded(crm: CRM, session: Session, now: datetime) -> dict[str, Any]:
    """The budget-cut example with Slack ids: Ann (team view) and Ben (owns the deal)."""
    data = seed_budget_cut(crm, now)
    data["ann"].slack_user_id, data["ben"].slack_user_id = "UANN", "UBEN"
    session.commit()
    return data


@pytest.fixture
def ai_app(
    sqlite_engine: Engine, slack: SlackStandIn, now: datetime, model: FakeModel
) -> Iterator[RunningApp]:
    """The app with a model configured (the stand-in model behind respx)."""
    with start_app(
        sqlite_engine,
        slack,
        clock=lambda: now,
        openai_api_key="test-key",
        openai_base_url=BASE_URL,
        llm_model=MODEL,
    ) as app:
        yield app


def _text(value: Any) -> str:
    return json.dumps(value)


def test_slash_deal_answers_each_rep_from_what_they_may_see(
    ai_app: RunningApp, seeded: dict[str, Any], model: FakeModel
) -> None:
    ai_app.slash("deal acme", user_id="UANN")
    ai_app.slash("deal Acme renewal", user_id="UBEN")
    for_ann, for_ben = ai_app.responses()

    assert for_ann["response_type"] == "ephemeral"
    assert for_ann["blocks"][0]["text"]["text"] == "Deal Insights: Acme renewal"
    assert "budget cut" in _text(for_ann["blocks"])
    assert "budget" not in _text(for_ben["blocks"]).lower()
    assert "*Buyer goals*" in _text(for_ben["blocks"])
    assert model.calls == 2
    assert "budget cut" not in model.prompts()[1]


def test_hipaa_on_means_no_model_call_from_slack(
    ai_app: RunningApp, crm: CRM, session: Session, seeded: dict[str, Any], model: FakeModel
) -> None:
    crm.settings(hipaa_sensitive_data=True)
    session.commit()
    ai_app.slash("deal acme", user_id="UANN")
    (answer,) = ai_app.responses()
    assert model.calls == 0
    assert "HIPAA" in _text(answer["blocks"]) and "*Buyer goals*" not in _text(answer["blocks"])
    assert "Re: pricing" in _text(answer["blocks"])  # recent activities stay


def test_several_matches_give_buttons_and_a_pick_answers(
    running_app: RunningApp, crm: CRM, session: Session, seeded: dict[str, Any]
) -> None:
    crm.deal(seeded["ben"], name="Acme expansion")
    session.commit()
    running_app.slash("deal acme", user_id="UBEN")
    (choices,) = running_app.responses()
    buttons = [e for b in choices["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {b["text"]["text"] for b in buttons} == {"Acme renewal", "Acme expansion"}

    pick = next(b for b in buttons if b["text"]["text"] == "Acme renewal")
    running_app.block_action(
        user_id="UBEN", action_id=pick["action_id"], value=pick["value"], in_home=False
    )
    answer = running_app.responses()[-1]
    assert answer["replace_original"] in (True, "true")
    assert answer["blocks"][0]["text"]["text"] == "Deal Insights: Acme renewal"
    assert "No AI summary: no AI model is configured" in _text(answer["blocks"])


def test_an_invisible_deal_is_never_revealed(
    running_app: RunningApp, crm: CRM, session: Session, seeded: dict[str, Any]
) -> None:
    stranger = crm.user(slack_user_id="UCY")
    session.commit()
    running_app.slash("deal acme renewal", user_id="UCY")
    (answer,) = running_app.responses()
    assert "No deal you can see matches “acme renewal”." in _text(answer)
    # A forged pick of the deal's id gets the same answer, and no insight is made.
    running_app.block_action(
        user_id="UCY",
        action_id=f"{ids.DEAL_PICK}:{seeded['deal'].id}",
        value=str(seeded["deal"].id),
        in_home=False,
    )
    # Its own answer (not the search's, still last if the pick said nothing), refusing.
    (_, forged) = running_app.responses()
    assert "No deal you can see matches that." in _text(forged)
    assert "Acme" not in _text(forged)
    assert (
        session.scalars(select(InsightRequest).where(InsightRequest.user_id == stranger.id)).all()
        == []
    )


def _dm(
    app: RunningApp, text: str, *, ts: str, event_id: str, thread_ts: str | None = None
) -> None:
    event = {
        "type": "message",
        "channel_type": "im",
        "user": "UBEN",
        "channel": "DBEN",
        "text": text,
        "ts": ts,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    app.event(event, event_id=event_id)


def test_dm_question_then_follow_up_in_its_thread(
    ai_app: RunningApp, session: Session, seeded: dict[str, Any], model: FakeModel
) -> None:
    _dm(ai_app, "how is the Acme deal?", ts="1700000000.000001", event_id="EvAsk")
    (posted,) = ai_app.slack.calls_to("chat.postMessage")
    assert posted.params["channel"] == "DBEN"
    assert "Deal Insights: Acme renewal" in _text(posted.json_param("blocks"))
    answer_ts = session.scalars(
        select(InsightRequest.slack_ts).where(InsightRequest.source == "dm")
    ).one()
    assert answer_ts

    call_id, email_id = seeded["call"].id, seeded["email"].id
    statements = [
        {"text": "They want to replace spreadsheets by Q3.", "activity_ids": [call_id]},
        {"text": "Their budget was cut.", "activity_ids": [email_id]},  # invented for Ben
    ]
    model.answers(completion(json.dumps({"statements": statements})))
    _dm(
        ai_app,
        "What does the buyer want?",
        ts="1700000099.000001",
        event_id="EvFollow",
        thread_ts=answer_ts,
    )

    reply = ai_app.slack.calls_to("chat.postMessage")[-1]
    assert reply.params["thread_ts"] == answer_ts
    blocks = _text(reply.json_param("blocks"))
    assert "replace spreadsheets by Q3. [1]" in blocks
    assert "budget" not in blocks.lower()
    assert "What does the buyer want?" in model.prompts()[-1]
    assert "budget cut" not in model.prompts()[-1]


def test_a_dm_that_is_not_about_a_deal_gets_the_help(
    running_app: RunningApp, seeded: dict[str, Any]
) -> None:
    _dm(running_app, "hello there", ts="1700000000.000001", event_id="EvHello")
    (posted,) = running_app.slack.calls_to("chat.postMessage")
    assert "Here is what I can do" in posted.params["text"]
    assert "Acme" not in _text(posted.params)


def test_show_more_opens_the_full_insights_for_the_asker_only(
    running_app: RunningApp, session: Session, seeded: dict[str, Any]
) -> None:
    running_app.slash("deal acme", user_id="UBEN")
    (answer,) = running_app.responses()
    show_more = next(
        e
        for b in answer["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.INSIGHTS_SHOW_MORE
    )
    running_app.block_action(
        user_id="UBEN", action_id=ids.INSIGHTS_SHOW_MORE, value=show_more["value"], in_home=False
    )
    (opened,) = running_app.slack.calls_to("views.open")
    assert "Gathering" in _text(opened.json_param("view"))  # opened at once, filled after
    (updated,) = running_app.slack.calls_to("views.update")
    modal = updated.json_param("view")
    assert modal["title"]["text"] == "Deal Insights"
    assert any(b["type"] == "rich_text" for b in modal["blocks"])  # the copyable text

    running_app.block_action(
        user_id="UANN", action_id=ids.INSIGHTS_SHOW_MORE, value=show_more["value"], in_home=False
    )
    refused = running_app.slack.calls_to("views.update")[-1].json_param("view")
    assert "shown to someone else" in _text(refused)


def test_feedback_form_is_stored_for_the_asker_and_refused_when_tampered(
    running_app: RunningApp, session: Session, seeded: dict[str, Any]
) -> None:
    running_app.slash("deal acme", user_id="UBEN")
    (answer,) = running_app.responses()
    not_helpful = next(
        e
        for b in answer["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["value"].endswith(":not_helpful")
    )
    running_app.block_action(
        user_id="UBEN",
        action_id=not_helpful["action_id"],
        value=not_helpful["value"],
        in_home=False,
    )
    form = running_app.slack.calls_to("views.open")[-1].json_param("view")
    assert form["callback_id"] == ids.VIEW_INSIGHTS_FEEDBACK

    values = {
        FEEDBACK_INPUT_BLOCK: {
            FEEDBACK_INPUT_ACTION: {"type": "plain_text_input", "value": "Missed the pricing call"}
        }
    }
    forged = running_app.view_submission(
        user_id="UANN",
        callback_id=ids.VIEW_INSIGHTS_FEEDBACK,
        values=values,
        private_metadata=form["private_metadata"],
    )
    garbled = running_app.view_submission(
        user_id="UBEN",
        callback_id=ids.VIEW_INSIGHTS_FEEDBACK,
        values=values,
        private_metadata="DROP TABLE:helpful",
    )
    saved = running_app.view_submission(
        user_id="UBEN",
        callback_id=ids.VIEW_INSIGHTS_FEEDBACK,
        values=values,
        private_metadata=form["private_metadata"],
    )
    assert forged.json()["response_action"] == "errors"
    assert garbled.json()["response_action"] == "errors"
    assert saved.status == 200 and not saved.body
    session.expire_all()
    (stored,) = session.scalars(select(InsightFeedback)).all()
    assert (stored.helpful, stored.comment, stored.user_id) == (
        False,
        "Missed the pricing call",
        seeded["ben"].id,
    )


def test_a_loose_question_matching_no_deal_is_left_to_the_help(
    running_app: RunningApp, seeded: dict[str, Any]
) -> None:
    _dm(running_app, "how's my schedule going?", ts="1700000000.000001", event_id="EvLoose")
    _dm(running_app, "what are the risks on Umbrella?", ts="1700000001.000001", event_id="EvRisk")
    loose, explicit = running_app.slack.calls_to("chat.postMessage")
    assert "Here is what I can do" in loose.params["text"]
    assert explicit.params["text"] == "No deal you can see matches “Umbrella”."


def test_slash_deal_without_a_name_says_how_to_ask(
    running_app: RunningApp, seeded: dict[str, Any]
) -> None:
    running_app.slash("deal", user_id="UBEN")
    (answer,) = running_app.responses()
    assert answer["text"].startswith("Which deal? Try `/sales deal acme`")
