"""The buttons added for write-back's last kinds, through signed requests: Reopen, a deal's
amount, Add note, call notes and Log a call."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.render.kit import block_problems, section
from handlers.render.navigation import View, ViewState
from handlers.render.task_modals import task_controls
from handlers.render.workspace import render_workspace
from handlers.slack import ids
from storage.models import (
    Activity,
    ActivityKind,
    CallStatus,
    Deal,
    TaskStatus,
    UserPreferences,
)
from tests.builders import CRM
from tests.handlers.payloads import acked, block_action, send, view_submission
from tests.support.app import RunningApp


def _click(
    running_app: RunningApp, user_id: str, action_id: str, value: str, blocks: list[Any]
) -> None:
    send(
        running_app,
        block_action(
            user_id=user_id,
            action_id=action_id,
            value=value,
            block_id=blocks[-1]["block_id"],
            blocks=blocks,
            response_url=running_app.slack.response_url("msg"),
        ),
    )


def _open(running_app: RunningApp, user_id: str, action_id: str, value: str) -> dict[str, Any]:
    _click(running_app, user_id, action_id, value, [section("x", block_id="row")])
    view: dict[str, Any] = running_app.slack.wait_for("views.open")[0].json_param("view")
    return view


def _text(block_id: str, value: str | None) -> dict[str, Any]:
    return {block_id: {block_id: {"type": "plain_text_input", "value": value}}}


def _select(block_id: str, value: str) -> dict[str, Any]:
    return {block_id: {block_id: {"type": "static_select", "selected_option": {"value": value}}}}


def _buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e.get("value", ""))
        for b in blocks
        for e in [*b.get("elements", []), b.get("accessory") or {}]
        if e.get("type") == "button"
    ]


# Reopen ---------------------------------------------------------------------------------


def test_done_message_offers_reopen_and_reopen_opens_the_task_again(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    ana = crm.user(name="Ana", slack_user_id="UANA")
    session.add(UserPreferences(user_id=ana.id, follow_up_prompt=False))
    task = crm.task(ana, subject="Call Acme")
    session.commit()
    row = [section("*Call Acme*", block_id=f"row:{task.id}"), task_controls(task.id, "Call Acme")]

    _click(running_app, "UANA", ids.TASK_COMPLETE, str(task.id), row)
    [done] = running_app.slack.wait_for("chat.update")
    blocks = done.json_param("blocks")
    assert "Done: 'Call Acme' completed." in str(blocks)
    assert (ids.TASK_REOPEN, str(task.id)) in _buttons(blocks)

    running_app.slack.clear()
    _click(running_app, "UANA", ids.TASK_REOPEN, str(task.id), blocks)

    [reopened] = running_app.slack.wait_for("chat.update")
    assert "Done: 'Call Acme' reopened." in str(reopened.json_param("blocks"))
    session.expire_all()
    assert session.get_one(Activity, task.id).status is TaskStatus.NOT_STARTED


def test_a_forged_reopen_is_refused_with_nothing_changed(
    running_app: RunningApp, session: Session, crm: CRM, now: datetime
) -> None:
    crm.user(name="Ana", slack_user_id="UANA")
    ben = crm.user(name="Ben")
    task = crm.task(ben, status=TaskStatus.COMPLETED, completed_at=now, completed_by_id=ben.id)
    session.commit()

    _click(running_app, "UANA", ids.TASK_REOPEN, str(task.id), [section("x", block_id="row")])

    [reply] = running_app.slack.wait_for("response_url")
    assert "no longer exists or never did" in reply.params["text"]
    session.expire_all()
    assert session.get_one(Activity, task.id).status is TaskStatus.COMPLETED


def test_the_tasks_view_lists_completed_tasks_with_reopen(
    session: Session, crm: CRM, now: datetime
) -> None:
    ana = crm.user(name="Ana")
    task = crm.task(
        ana,
        subject="Send <the> quote",
        status=TaskStatus.COMPLETED,
        completed_at=now - timedelta(hours=3),
    )
    session.commit()

    shown = render_workspace(
        session,
        viewer=ana,
        state=ViewState(view=View.TASKS, filter="completed"),
        now=now,
        surface="home",
    )

    assert block_problems(shown.blocks, surface="home") == []
    assert (ids.TASK_REOPEN, str(task.id)) in _buttons(shown.blocks)
    assert "1 task completed in the last 7 days" in str(shown.blocks)
    assert "~Send &lt;the&gt; quote~" in str(shown.blocks)


# A deal's amount ------------------------------------------------------------------------


def test_the_deal_form_shows_the_amount_and_saves_a_new_one(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    ana = crm.user(slack_user_id="UANA")
    deal = crm.deal(ana, name="Acme", amount=Decimal("12000"))
    session.commit()

    view = _open(running_app, "UANA", ids.DEAL_UPDATE, str(deal.id))
    [amount] = [b for b in view["blocks"] if b.get("block_id") == "amount"]
    assert amount["element"]["initial_value"] == "12000"
    stage = _select("stage", str(deal.stage_id))

    bad = send(
        running_app,
        view_submission(user_id="UANA", view=view, values={**stage, **_text("amount", "1,2,3")}),
    )
    assert "amount" in acked(bad)["errors"]
    ok = send(
        running_app,
        view_submission(
            user_id="UANA", view=view, values={**stage, **_text("amount", "185.000,50")}
        ),
    )
    assert "amount 185,000.50 USD" in str(acked(ok)["view"])
    session.expire_all()
    assert session.get_one(Deal, deal.id).amount == Decimal("185000.50")


# Add note -------------------------------------------------------------------------------


def test_add_note_on_a_deal_writes_a_note_and_a_stranger_gets_no_form(
    running_app: RunningApp, session: Session, crm: CRM, now: datetime
) -> None:
    ana = crm.user(slack_user_id="UANA")
    crm.user(name="Ben", slack_user_id="UBEN")
    deal = crm.deal(ana, name="Acme")
    session.commit()

    view = _open(running_app, "UANA", ids.NOTE_ADD, f"deal:{deal.id}")
    assert view["callback_id"] == ids.VIEW_NOTE_ADD and "Acme" in str(view["blocks"])
    empty = send(running_app, view_submission(user_id="UANA", view=view, values=_text("body", "")))
    assert acked(empty)["errors"] == {"body": "Write the note first."}
    ok = send(
        running_app,
        view_submission(user_id="UANA", view=view, values=_text("body", "<!channel> call me")),
    )
    assert "Done: note added to 'Acme'." in str(acked(ok)["view"])
    session.expire_all()
    [note] = session.scalars(select(Activity).where(Activity.kind == ActivityKind.NOTE))
    assert (note.body, note.owner_id, note.occurred_at) == ("<!channel> call me", ana.id, now)

    running_app.slack.clear()
    _click(running_app, "UBEN", ids.NOTE_ADD, f"deal:{deal.id}", [section("x", block_id="row")])
    [reply] = running_app.slack.wait_for("response_url")
    assert "no longer exists or never did" in reply.params["text"]
    assert running_app.slack.calls_to("views.open") == []
    # A forged submission of Ana's form by Ben writes nothing either.
    forged = send(
        running_app, view_submission(user_id="UBEN", view=view, values=_text("body", "x"))
    )
    assert "Done" not in str(acked(forged))
    assert (
        len(session.scalars(select(Activity).where(Activity.kind == ActivityKind.NOTE)).all()) == 1
    )


# Calls ----------------------------------------------------------------------------------


def test_call_outcome_takes_notes(running_app: RunningApp, session: Session, crm: CRM) -> None:
    ana = crm.user(slack_user_id="UANA")
    call = crm.call(ana, subject="Call Acme", body="Old notes")
    session.commit()

    view = _open(running_app, "UANA", ids.CALL_LOG_OUTCOME, str(call.id))
    [notes] = [b for b in view["blocks"] if b.get("block_id") == "notes"]
    assert notes["element"]["initial_value"] == "Old notes"
    answer = send(
        running_app,
        view_submission(
            user_id="UANA",
            view=view,
            values={**_select("outcome", "Connected"), **_text("notes", "Budget approved")},
        ),
    )
    assert acked(answer)["response_action"] == "update"
    session.expire_all()
    saved = session.get_one(Activity, call.id)
    assert (saved.outcome, saved.body) == ("Connected", "Budget approved")


def test_log_a_call_on_a_deal(running_app: RunningApp, session: Session, crm: CRM) -> None:
    ana = crm.user(slack_user_id="UANA")
    deal = crm.deal(ana, name="Acme")
    session.commit()

    view = _open(running_app, "UANA", ids.CALL_LOG, str(deal.id))
    assert view["callback_id"] == ids.VIEW_CALL_LOG
    answer = send(
        running_app,
        view_submission(
            user_id="UANA",
            view=view,
            values={**_select("outcome", "No answer"), **_text("notes", None)},
        ),
    )
    assert "Done: call logged on 'Acme' (No answer)." in str(acked(answer)["view"])
    session.expire_all()
    [call] = session.scalars(select(Activity).where(Activity.kind == ActivityKind.CALL))
    assert (call.outcome, call.call_status, call.body, call.owner_id) == (
        "No answer",
        CallStatus.COMPLETED,
        None,
        ana.id,
    )


def test_call_notes_too_long_for_the_form_are_kept_whole(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    ana = crm.user(slack_user_id="UANA")
    long_notes = "Minutes. " * 400  # 3,600 characters: more than Slack's field takes
    call = crm.call(ana, subject="Call Acme", body=long_notes)
    session.commit()

    view = _open(running_app, "UANA", ids.CALL_LOG_OUTCOME, str(call.id))
    assert [b for b in view["blocks"] if b.get("block_id") == "notes"] == []
    send(
        running_app,
        view_submission(user_id="UANA", view=view, values=_select("outcome", "Connected")),
    )
    session.expire_all()
    saved = session.get_one(Activity, call.id)
    assert (saved.outcome, saved.body) == ("Connected", long_notes)
