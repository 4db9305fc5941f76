"""Meeting/call outcome and deal forms through signed requests."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import ids
from handlers.render.blocks import section
from storage.models import Activity, CallStatus, Deal, DealVisibility
from tests.builders import CRM
from tests.handlers.conftest import Slack, ack_body, block_action, view_submission


def _open(slack: Slack, user_id: str, action_id: str, value: str) -> dict:  # type: ignore[type-arg]
    slack.post(
        block_action(
            user_id=user_id,
            action_id=action_id,
            value=value,
            block_id="row",
            blocks=[section("x", block_id="row")],
            response_url=slack.api.response_url("msg"),
        )
    )
    return slack.api.wait_for("views.open")[0].json_param("view")


def _select(block_id: str, value: str) -> dict:  # type: ignore[type-arg]
    return {block_id: {block_id: {"type": "static_select", "selected_option": {"value": value}}}}


def test_log_a_meeting_outcome(slack: Slack, db: tuple[Session, CRM], now: datetime) -> None:
    session, crm = db
    ana = crm.user(slack_user_id="UANA")
    meeting = crm.meeting(ana, subject="Demo")
    session.commit()

    view = _open(slack, "UANA", ids.MEETING_LOG_OUTCOME, str(meeting.id))
    assert view["callback_id"] == ids.VIEW_MEETING_OUTCOME
    options = [o["value"] for o in view["blocks"][1]["element"]["options"]]
    assert options == ["completed", "rescheduled", "no_show", "canceled"]

    junk = slack.post(view_submission(user_id="UANA", view=view, values=_select("outcome", "won")))
    assert ack_body(junk)["response_action"] == "errors"
    answer = slack.post(
        view_submission(user_id="UANA", view=view, values=_select("outcome", "no_show"))
    )
    assert "Done: outcome No show logged for 'Demo'." in str(ack_body(answer)["view"])
    again = slack.post(
        view_submission(user_id="UANA", view=view, values=_select("outcome", "no_show"))
    )
    assert "already logged as No show by you at 15:30" in str(ack_body(again)["view"])
    session.expire_all()
    assert session.get(Activity, meeting.id).outcome == "no_show"  # type: ignore[union-attr]


def test_a_future_meeting_or_someone_elses_gets_no_modal(
    slack: Slack, db: tuple[Session, CRM], now: datetime
) -> None:
    session, crm = db
    ana = crm.user(slack_user_id="UANA")
    ben = crm.user(name="Ben", slack_user_id="UBEN")
    future = crm.meeting(ana, starts_at=now + timedelta(hours=1))
    bens = crm.meeting(ben)
    session.commit()

    for meeting_id, expected in (
        (future.id, "hasn't started yet"),
        (bens.id, "You can't change Ben's meeting."),
    ):
        slack.api.clear()
        slack.post(
            block_action(
                user_id="UANA",
                action_id=ids.MEETING_LOG_OUTCOME,
                value=str(meeting_id),
                block_id="row",
                blocks=[section("x", block_id="row")],
                response_url=slack.api.response_url("msg"),
            )
        )
        [reply] = slack.api.wait_for("response_url")
        assert expected in reply.params["text"]
    assert slack.api.calls_to("views.open") == []


def test_log_a_call_outcome(slack: Slack, db: tuple[Session, CRM]) -> None:
    session, crm = db
    ana = crm.user(slack_user_id="UANA")
    call = crm.call(ana, subject="Call Acme")
    session.commit()

    view = _open(slack, "UANA", ids.CALL_LOG_OUTCOME, str(call.id))
    answer = slack.post(
        view_submission(
            user_id="UANA",
            view=view,
            values={**_select("outcome", "Left voicemail"), **_select("call_status", "no_answer")},
        )
    )
    assert ack_body(answer)["response_action"] == "update"
    session.expire_all()
    saved = session.get(Activity, call.id)
    assert saved is not None
    assert (saved.outcome, saved.call_status) == ("Left voicemail", CallStatus.NO_ANSWER)
    [told] = slack.api.wait_for("response_url")
    assert "outcome Left voicemail logged" in told.params["text"]


def test_deal_update_offers_only_its_pipelines_stages_and_saves(
    slack: Slack, db: tuple[Session, CRM], now: datetime
) -> None:
    session, crm = db
    ana = crm.user(slack_user_id="UANA")
    deal = crm.deal(ana, name="Acme")
    won = crm.stage("closedwon")
    lead_stage = crm.stage("new", object_type=crm.lead_pipeline.object_type)
    session.commit()

    view = _open(slack, "UANA", ids.DEAL_UPDATE, str(deal.id))
    stage_values = [o["value"] for o in view["blocks"][1]["element"]["options"]]
    assert str(won.id) in stage_values and str(lead_stage.id) not in stage_values
    assert len(stage_values) == 7

    forged = slack.post(
        view_submission(user_id="UANA", view=view, values=_select("stage", str(lead_stage.id)))
    )
    assert ack_body(forged)["errors"] == {"stage": "Pick a stage of this deal's pipeline."}

    answer = slack.post(
        view_submission(
            user_id="UANA",
            view=view,
            values={
                **_select("stage", str(won.id)),
                "close_date": {"close_date": {"type": "datepicker", "selected_date": "2026-03-11"}},
                "next_step": {"next_step": {"type": "plain_text_input", "value": "Kick-off call"}},
            },
        )
    )
    assert ack_body(answer)["response_action"] == "update"
    session.expire_all()
    saved = session.get(Deal, deal.id)
    assert saved is not None
    assert (saved.stage_id, saved.closed_at, saved.close_date, saved.next_step) == (
        won.id,
        now,
        date(2026, 3, 11),
        "Kick-off call",
    )


def test_a_deal_one_cannot_see_opens_nothing(slack: Slack, db: tuple[Session, CRM]) -> None:
    session, crm = db
    crm.user(slack_user_id="UANA", deal_visibility=DealVisibility.OWNED)
    deal = crm.deal(crm.user(name="Ben"))
    session.commit()
    slack.post(
        block_action(
            user_id="UANA",
            action_id=ids.DEAL_UPDATE,
            value=str(deal.id),
            block_id="row",
            blocks=[section("x", block_id="row")],
            response_url=slack.api.response_url("msg"),
        )
    )
    [reply] = slack.api.wait_for("response_url")
    assert "no longer exists or never did" in reply.params["text"]
    assert slack.api.calls_to("views.open") == []


def test_create_a_deal(slack: Slack, db: tuple[Session, CRM], now: datetime) -> None:
    session, crm = db
    ana = crm.user(slack_user_id="UANA")
    session.commit()

    view = _open(slack, "UANA", ids.DEAL_CREATE, "")
    first_stage = view["blocks"][1]["element"]["initial_option"]["value"]
    name = {"name": {"name": {"type": "plain_text_input", "value": "Globex"}}}
    bad = slack.post(
        view_submission(
            user_id="UANA",
            view=view,
            values={
                **name,
                **_select("stage", first_stage),
                "amount": {"amount": {"type": "plain_text_input", "value": "lots"}},
            },
        )
    )
    assert "amount" in ack_body(bad)["errors"]
    ok = slack.post(
        view_submission(user_id="UANA", view=view, values={**name, **_select("stage", first_stage)})
    )
    assert ack_body(ok)["response_action"] == "update"
    session.expire_all()
    created = session.scalars(select(Deal).where(Deal.name == "Globex")).all()
    assert [(d.owner_id, d.created_at) for d in created] == [(ana.id, now)]
