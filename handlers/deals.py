"""Deal buttons and forms: update stage / close date / next step, and create a deal."""

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
from handlers.render.deal_modals import (
    deal_create_modal,
    deal_error_field,
    deal_update_modal,
    parse_deal_form,
)
from handlers.render.task_modals import read_metadata
from handlers.services import Services
from rules.deal_ops import (
    DealChange,
    DealDraft,
    all_deal_stages,
    create_deal,
    deal_stages,
    load_deal_for,
    update_deal,
)
from rules.op_result import OpResult
from storage.models import User


def register(app: App, services: Services) -> None:
    """Wire the deal buttons and their modals."""
    pool = app.listener_runner.listener_executor
    app.action(ids.DEAL_UPDATE)(**on_click(services, open_update))
    app.action(ids.DEAL_CREATE)(**on_click(services, open_create))
    app.view(ids.VIEW_DEAL_UPDATE)(on_submit(services, submit_update, pool))
    app.view(ids.VIEW_DEAL_CREATE)(on_submit(services, submit_create, pool))


def open_update(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    def render(s: Session, actor: User, now: datetime) -> tuple[Block | None, OpResult | None]:
        deal, refusal = load_deal_for(s, actor, click.value)
        if deal is None:
            return None, refusal
        return deal_update_modal(deal, deal_stages(s, deal), origin=click.origin()), None

    open_modal(
        services,
        click,
        read(services, client, click.user_id, render),
        client=client,
        respond=respond,
    )


def open_create(services: Services, click: Click, client: WebClient, respond: Respond) -> None:
    def render(s: Session, actor: User, now: datetime) -> tuple[Block | None, OpResult | None]:
        return deal_create_modal(all_deal_stages(s), origin=click.origin()), None

    open_modal(
        services,
        click,
        read(services, client, click.user_id, render),
        client=client,
        respond=respond,
    )


def submit_update(
    services: Services, ack: Ack, body: dict[str, Any], client: WebClient
) -> FollowUp | None:
    view = body.get("view") or {}
    meta = read_metadata(view)
    form = parse_deal_form(view.get("state") or {})
    change = DealChange(
        stage_id=form.stage_id, close_date=form.close_date, next_step=form.next_step
    )
    return submit_form(
        services,
        ack,
        body,
        client,
        lambda s, actor, now: update_deal(s, actor, meta.get("id"), change=change, now=now),
        title="Update deal",
        error_field=deal_error_field,
    )


def submit_create(
    services: Services, ack: Ack, body: dict[str, Any], client: WebClient
) -> FollowUp | None:
    view = body.get("view") or {}
    form = parse_deal_form(view.get("state") or {})
    draft = DealDraft(
        name=form.name or "", stage_id=form.stage_id, amount=form.amount, close_date=form.close_date
    )
    return submit_form(
        services,
        ack,
        body,
        client,
        lambda s, actor, now: create_deal(s, actor, draft, now=now),
        title="New deal",
        error_field=deal_error_field,
    )
