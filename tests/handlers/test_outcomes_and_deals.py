"""Meeting/call outcome and deal forms through signed requests."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.render.kit import section
from handlers.slack import ids
from storage.models import Activity, CallStatus, Deal, DealVisibility
from tests.builders import CRM
from tests.handlers.payloads import acked, block_action, send, view_submission
from tests.support.app import RunningApp


def _open(running_app: RunningApp, user_id: str, action_id: str, value: str) -> dict[str, Any]:
    send(
        running_app,
        block_action(
            user_id=user_id,
            action_id=action_id,
            value=value,
            block_id="row",
            blocks=[section("x", block_id="row")],
            response_url=running_app.slack.response_url("msg"),
        ),
    )
    view: dict[str, Any] = running_app.slack.wait_for("views.open")[0].json_param("view")
    return view


def _select(block_id: str, value: str) -> dict[str, Any]:
    return {block_id: {block_id: {"type": "static_select", "selected_option": {"value": value}}}}


def test_log_a_meeting_outcome(
    running_app: RunningApp, session: Session, crm: CRM, now: datetime
) -> None:
    ana = crm.user(slack_user_id="UANA")
    meeting = crm.meeting(ana, subject="Demo")
    session.commit()

    view = _open(running_app, "UANA", ids.MEETING_LOG_OUTCOME, str(meeting.id))
    assert view["callback_id"] == ids.VIEW_MEETING_OUTCOME
    options = [o["value"] for o in view["blocks"][1]["element"]["options"]]
    assert options == ["completed", "rescheduled", "no_show", "canceled"]

    junk = send(
        running_app, view_submission(user_id="UANA", view=view, values=_select("outcome", "won"))
    )
    assert acked(junk)["response_action"] == "errors"
    answer = send(
        running_app,
        view_submission(user_id="UANA", view=view, values=_select("outcome", "no_show")),
    )
    assert "Done: outcome No show logged for 'Demo'." in str(acked(answer)["view"])
    again = send(
        running_app,
        view_submission(user_id="UANA", view=view, values=_select("outcome", "no_show")),
    )
    assert "already logged as No show by you at 15:30" in str(acked(again)["view"])
    session.expire_all()
    assert session.get_one(Activity, meeting.id).outcome == "no_show"


def test_a_future_meeting_or_someone_elses_gets_no_modal(
    running_app: RunningApp, session: Session, crm: CRM, now: datetime
) -> None:
    ana = crm.user(slack_user_id="UANA")
    ben = crm.user(name="Ben", slack_user_id="UBEN")
    future = crm.meeting(ana, starts_at=now + timedelta(hours=1))
    bens = crm.meeting(ben)
    session.commit()

    for meeting_id, expected in (
        (future.id, "hasn't started yet"),
        (bens.id, "That meeting no longer exists or never did."),  # Ben's: not Ana's to see
    ):
        running_app.slack.clear()
        send(
            running_app,
            block_action(
                user_id="UANA",
                action_id=ids.MEETING_LOG_OUTCOME,
                value=str(meeting_id),
                block_id="row",
                blocks=[section("x", block_id="row")],
                response_url=running_app.slack.response_url("msg"),
            ),
        )
        [reply] = running_app.slack.wait_for("response_url")
        assert expected in reply.params["text"]
    assert running_app.slack.calls_to("views.open") == []


def test_log_a_call_outcome(running_app: RunningApp, session: Session, crm: CRM) -> None:
    ana = crm.user(slack_user_id="UANA")
    call = crm.call(ana, subject="Call Acme")
    session.commit()

    view = _open(running_app, "UANA", ids.CALL_LOG_OUTCOME, str(call.id))
    answer = send(
        running_app,
        view_submission(
            user_id="UANA",
            view=view,
            values={**_select("outcome", "Left voicemail"), **_select("call_status", "no_answer")},
        ),
    )
    assert acked(answer)["response_action"] == "update"
    session.expire_all()
    saved = session.get(Activity, call.id)
    assert saved is not None
    assert (saved.outcome, saved.call_status) == ("Left voicemail", CallStatus.NO_ANSWER)
    [told] = running_app.slack.wait_for("response_url")
    assert "outcome Left voicemail logged" in told.params["text"]


def test_deal_update_offers_only_its_pipelines_stages_and_saves(
    running_app: RunningApp, session: Session, crm: CRM, now: datetime
) -> None:
    ana = crm.user(slack_user_id="UANA")
    deal = crm.deal(ana, name="Acme")
    won = crm.stage("closedwon")
    lead_stage = crm.stage("new", object_type=crm.lead_pipeline.object_type)
    session.commit()

    view = _open(running_app, "UANA", ids.DEAL_UPDATE, str(deal.id))
    stage_values = [o["value"] for o in view["blocks"][1]["element"]["options"]]
    assert str(won.id) in stage_values and str(lead_stage.id) not in stage_values
    assert len(stage_values) == 7

    forged = send(
        running_app,
        view_submission(user_id="UANA", view=view, values=_select("stage", str(lead_stage.id))),
    )
    assert acked(forged)["errors"] == {"stage": "Pick a stage of this deal's pipeline."}

    answer = send(
        running_app,
        view_submission(
            user_id="UANA",
            view=view,
            values={
                **_select("stage", str(won.id)),
                "close_date": {"close_date": {"type": "datepicker", "selected_date": "2026-03-11"}},
                "next_step": {"next_step": {"type": "plain_text_input", "value": "Kick-off call"}},
            },
        ),
    )
    assert acked(answer)["response_action"] == "update"
    session.expire_all()
    saved = session.get(Deal, deal.id)
    assert saved is not None
    assert (saved.stage_id, saved.closed_at, saved.close_date, saved.next_step) == (
        won.id,
        now,
        date(2026, 3, 11),
        "Kick-off call",
    )


def test_saving_the_deal_form_keeps_a_colleagues_change_to_fields_left_alone(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    ana = crm.user(slack_user_id="UANA")
    deal = crm.deal(ana, name="Acme", next_step="Send the proposal", close_date=date(2026, 4, 1))
    won = crm.stage("closedwon")
    session.commit()
    view = _open(running_app, "UANA", ids.DEAL_UPDATE, str(deal.id))
    deal.next_step = "Legal reviews the contract"  # a colleague, while Ana's form is open
    session.commit()

    def saved_with(next_step: str, stage_id: int) -> dict[str, Any]:
        values = {
            **_select("stage", str(stage_id)),
            "close_date": {"close_date": {"type": "datepicker", "selected_date": "2026-04-01"}},
            "next_step": {"next_step": {"type": "plain_text_input", "value": next_step}},
        }
        return acked(send(running_app, view_submission(user_id="UANA", view=view, values=values)))

    assert saved_with("Send the proposal", won.id)["response_action"] == "update"
    session.expire_all()
    saved = session.get(Deal, deal.id)
    assert saved is not None
    assert (saved.stage_id, saved.next_step) == (won.id, "Legal reviews the contract")

    refused = saved_with("Call their CFO", won.id)
    assert "Someone changed 'Acme'" in next(iter(refused["errors"].values()))
    session.expire_all()
    kept = session.get(Deal, deal.id)
    assert kept is not None and kept.next_step == "Legal reviews the contract"


def test_a_deal_one_cannot_see_opens_nothing(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    crm.user(slack_user_id="UANA", deal_visibility=DealVisibility.OWNED)
    deal = crm.deal(crm.user(name="Ben"))
    session.commit()
    send(
        running_app,
        block_action(
            user_id="UANA",
            action_id=ids.DEAL_UPDATE,
            value=str(deal.id),
            block_id="row",
            blocks=[section("x", block_id="row")],
            response_url=running_app.slack.response_url("msg"),
        ),
    )
    [reply] = running_app.slack.wait_for("response_url")
    assert "no longer exists or never did" in reply.params["text"]
    assert running_app.slack.calls_to("views.open") == []


def test_create_a_deal(running_app: RunningApp, session: Session, crm: CRM, now: datetime) -> None:
    ana = crm.user(slack_user_id="UANA")
    session.commit()

    view = _open(running_app, "UANA", ids.DEAL_CREATE, "")
    first_stage = view["blocks"][1]["element"]["initial_option"]["value"]
    name = {"name": {"name": {"type": "plain_text_input", "value": "Globex"}}}
    bad = send(
        running_app,
        view_submission(
            user_id="UANA",
            view=view,
            values={
                **name,
                **_select("stage", first_stage),
                "amount": {"amount": {"type": "plain_text_input", "value": "lots"}},
            },
        ),
    )
    assert "amount" in acked(bad)["errors"]
    ok = send(
        running_app,
        view_submission(
            user_id="UANA", view=view, values={**name, **_select("stage", first_stage)}
        ),
    )
    assert acked(ok)["response_action"] == "update"
    session.expire_all()
    created = session.scalars(select(Deal).where(Deal.name == "Globex")).all()
    assert [(d.owner_id, d.created_at) for d in created] == [(ana.id, now)]
