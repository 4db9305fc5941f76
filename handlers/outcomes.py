"""Logging a meeting's or a call's outcome, and logging a new call on a deal: the button
opens a modal, the modal writes."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import Ack, App, BoltContext, Respond
from sqlalchemy.orm import Session

from handlers.i18n import _
from handlers.render.kit import Block
from handlers.render.outcome_modals import (
    OUTCOME_FIELDS,
    call_log_modal,
    call_outcome_modal,
    meeting_outcome_modal,
    parse_call_notes,
    parse_outcome,
)
from handlers.slack import ids
from handlers.slack.listeners import (
    Click,
    FollowUp,
    Form,
    on_click,
    on_submit,
    open_form,
    read,
    submit_form,
)
from rules.activity_log.ops import CallLog, log_call
from rules.deals.ops import load_deal_for
from rules.meetings.ops import (
    call_for_outcome,
    log_call_outcome,
    log_meeting_outcome,
    meeting_for_outcome,
)
from rules.op_result import OpResult
from storage.models import User


def register(app: App) -> None:
    """The outcome buttons and their modals."""
    app.action(ids.MEETING_LOG_OUTCOME)(on_click(open_meeting_outcome))
    app.action(ids.CALL_LOG_OUTCOME)(on_click(open_call_outcome))
    app.view(ids.VIEW_MEETING_OUTCOME)(on_submit(submit_meeting_outcome))
    app.view(ids.VIEW_CALL_OUTCOME)(on_submit(submit_call_outcome))
    app.action(ids.CALL_LOG)(on_click(open_call_log))
    app.view(ids.VIEW_CALL_LOG)(on_submit(submit_call_log))


def open_meeting_outcome(click: Click, context: BoltContext, respond: Respond) -> None:
    def render(s: Session, actor: User, now: datetime) -> tuple[Block | None, OpResult | None]:
        meeting, refusal = meeting_for_outcome(s, actor, click.value, now=now)
        if meeting is None:
            return None, refusal
        return meeting_outcome_modal(meeting, origin=click.origin()), None

    open_form(context, click, read(context, render), respond=respond)


def open_call_outcome(click: Click, context: BoltContext, respond: Respond) -> None:
    def render(s: Session, actor: User, now: datetime) -> tuple[Block | None, OpResult | None]:
        call, refusal = call_for_outcome(s, actor, click.value, now=now)
        if call is None:
            return None, refusal
        return call_outcome_modal(call, origin=click.origin()), None

    open_form(context, click, read(context, render), respond=respond)


def submit_meeting_outcome(form: Form, ack: Ack, context: BoltContext) -> FollowUp | None:
    meeting_id = form.metadata.get("id")
    outcome, _status = parse_outcome(form.state)
    return submit_form(
        context,
        ack,
        form,
        lambda s, actor, now: log_meeting_outcome(s, actor, meeting_id, outcome=outcome, now=now),
        title=_("Meeting outcome"),
        fields=OUTCOME_FIELDS,
    )


def submit_call_outcome(form: Form, ack: Ack, context: BoltContext) -> FollowUp | None:
    call_id = form.metadata.get("id")
    disposition, status = parse_outcome(form.state)
    notes = parse_call_notes(form.state)
    return submit_form(
        context,
        ack,
        form,
        lambda s, actor, now: log_call_outcome(
            s, actor, call_id, disposition=disposition, status=status, notes=notes, now=now
        ),
        title=_("Call outcome"),
        fields=OUTCOME_FIELDS,
    )


def open_call_log(click: Click, context: BoltContext, respond: Respond) -> None:
    def render(s: Session, actor: User, now: datetime) -> tuple[Block | None, OpResult | None]:
        deal, refusal = load_deal_for(s, actor, click.value)
        if deal is None:
            return None, refusal
        return call_log_modal(deal, origin=click.origin()), None

    open_form(context, click, read(context, render), respond=respond)


def submit_call_log(form: Form, ack: Ack, context: BoltContext) -> FollowUp | None:
    deal_id = form.metadata.get("id")
    disposition, status = parse_outcome(form.state)
    call = CallLog(disposition=disposition, status=status, notes=parse_call_notes(form.state))
    return submit_form(
        context,
        ack,
        form,
        lambda s, actor, now: log_call(s, actor, deal_id, call=call, now=now),
        title=_("Log a call"),
        fields=OUTCOME_FIELDS,
    )
