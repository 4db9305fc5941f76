"""Logging a meeting's or a call's outcome: the button opens a modal, the modal writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from handlers import ids
from handlers.interaction import (
    Click,
    FollowUp,
    on_click,
    on_submit,
    open_modal,
    read,
    submit_form,
)
from handlers.render.blocks import Block
from handlers.render.outcome_modals import (
    call_outcome_modal,
    meeting_outcome_modal,
    outcome_field,
    parse_outcome,
)
from handlers.render.task_modals import read_metadata
from handlers.services import Services
from rules.activity_ops import (
    call_for_outcome,
    log_call_outcome,
    log_meeting_outcome,
    meeting_for_outcome,
)
from rules.op_result import OpResult
from storage.models import User


def register(app: App, services: Services) -> None:
    """Wire the outcome buttons and their modals."""
    pool = app.listener_runner.listener_executor
    app.action(ids.MEETING_LOG_OUTCOME)(**on_click(services, open_meeting_outcome))
    app.action(ids.CALL_LOG_OUTCOME)(**on_click(services, open_call_outcome))
    app.view(ids.VIEW_MEETING_OUTCOME)(on_submit(services, submit_meeting_outcome, pool))
    app.view(ids.VIEW_CALL_OUTCOME)(on_submit(services, submit_call_outcome, pool))


def open_meeting_outcome(
    services: Services, click: Click, client: WebClient, respond: Respond
) -> None:
    def render(s: Session, actor: User, now: datetime) -> tuple[Block | None, OpResult | None]:
        meeting, refusal = meeting_for_outcome(s, actor, click.value, now=now)
        if meeting is None:
            return None, refusal
        return meeting_outcome_modal(meeting, origin=click.origin()), None

    open_modal(
        services,
        click,
        read(services, client, click.user_id, render),
        client=client,
        respond=respond,
    )


def open_call_outcome(
    services: Services, click: Click, client: WebClient, respond: Respond
) -> None:
    def render(s: Session, actor: User, now: datetime) -> tuple[Block | None, OpResult | None]:
        call, refusal = call_for_outcome(s, actor, click.value, now=now)
        if call is None:
            return None, refusal
        return call_outcome_modal(call, origin=click.origin()), None

    open_modal(
        services,
        click,
        read(services, client, click.user_id, render),
        client=client,
        respond=respond,
    )


def submit_meeting_outcome(
    services: Services, ack: Ack, body: dict[str, Any], client: WebClient
) -> FollowUp | None:
    view = body.get("view") or {}
    meta = read_metadata(view)
    outcome, _ = parse_outcome(view.get("state") or {})
    return submit_form(
        services,
        ack,
        body,
        client,
        lambda s, actor, now: log_meeting_outcome(
            s, actor, meta.get("id"), outcome=outcome, now=now
        ),
        title="Meeting outcome",
        error_field=lambda _message: outcome_field(),
    )


def submit_call_outcome(
    services: Services, ack: Ack, body: dict[str, Any], client: WebClient
) -> FollowUp | None:
    view = body.get("view") or {}
    meta = read_metadata(view)
    disposition, status = parse_outcome(view.get("state") or {})
    return submit_form(
        services,
        ack,
        body,
        client,
        lambda s, actor, now: log_call_outcome(
            s, actor, meta.get("id"), disposition=disposition, status=status, now=now
        ),
        title="Call outcome",
        error_field=lambda _message: outcome_field(),
    )
