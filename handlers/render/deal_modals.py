"""Modals to update a deal (stage, close date, next step, amount) and to create one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from handlers.i18n import _
from handlers.render.kit import (
    Block,
    FieldBlocks,
    escape,
    form_element,
    input_block,
    modal,
    option,
    section,
)
from handlers.slack import ids
from handlers.slack.metadata import metadata
from rules.deals.ops import update_fingerprints
from storage.models import Deal, PipelineStage

_STAGE, _CLOSE, _NEXT, _NAME, _AMOUNT = "stage", "close_date", "next_step", "name", "amount"


def _stage_select(stages: list[PipelineStage], current: PipelineStage | None) -> Block:
    element: Block = {
        "type": "static_select",
        "action_id": _STAGE,
        "options": [option(stage.label, str(stage.id)) for stage in stages[:100]],
    }
    if current is not None:
        element["initial_option"] = option(current.label, str(current.id))
    return element


# Slack's text input holds at most this much: a longer next step is shown cut.
NEXT_STEP_SHOWN = 3000


def deal_update_modal(deal: Deal, stages: list[PipelineStage], *, origin: dict[str, Any]) -> Block:
    """Stage (only the deal's own pipeline), close date, next step and amount."""
    close: Block = {"type": "datepicker", "action_id": _CLOSE}
    if deal.close_date:
        close["initial_date"] = deal.close_date.isoformat()
    next_step: Block = {
        "type": "plain_text_input",
        "action_id": _NEXT,
        "multiline": True,
        "max_length": NEXT_STEP_SHOWN,
    }
    if deal.next_step:
        next_step["initial_value"] = deal.next_step[:NEXT_STEP_SHOWN]
    amount: Block = {"type": "plain_text_input", "action_id": _AMOUNT, "max_length": 30}
    if deal.amount is not None:
        amount["initial_value"] = _plain_amount(deal.amount)
    current = next((stage for stage in stages if stage.id == deal.stage_id), None)
    return modal(
        ids.VIEW_DEAL_UPDATE,
        _("Update deal"),
        [
            section(f"*{escape(deal.name)}*"),
            input_block(_STAGE, _("Stage"), _stage_select(stages, current)),
            input_block(_CLOSE, _("Close date"), close, optional=True),
            input_block(_NEXT, _("Next step"), next_step, optional=True),
            input_block(
                _AMOUNT,
                _("Amount ({currency})").format(currency=deal.currency),
                amount,
                optional=True,
                hint=_("For example 185000 or 185000.50"),
            ),
        ],
        submit=_("Save"),
        # What the form shows, so that saving writes only what the user changed.
        private_metadata=metadata(
            id=deal.id,
            origin=origin,
            shown=update_fingerprints(deal, next_step_limit=NEXT_STEP_SHOWN),
        ),
    )


def _plain_amount(amount: Decimal) -> str:
    """An amount as the form shows it for editing: no grouping, cents only when there are."""
    return f"{amount:.0f}" if amount == amount.to_integral_value() else f"{amount:.2f}"


def deal_create_modal(stages: list[PipelineStage], *, origin: dict[str, Any]) -> Block:
    name: Block = {"type": "plain_text_input", "action_id": _NAME, "max_length": 300}
    amount: Block = {"type": "plain_text_input", "action_id": _AMOUNT, "max_length": 20}
    return modal(
        ids.VIEW_DEAL_CREATE,
        _("New deal"),
        [
            input_block(_NAME, _("Deal name"), name),
            input_block(_STAGE, _("Stage"), _stage_select(stages, stages[0] if stages else None)),
            input_block(_AMOUNT, _("Amount"), amount, optional=True, hint=_("For example 12000")),
            input_block(
                _CLOSE, _("Close date"), {"type": "datepicker", "action_id": _CLOSE}, optional=True
            ),
        ],
        submit=_("Create"),
        private_metadata=metadata(origin=origin),
    )


@dataclass(frozen=True)
class DealForm:
    stage_id: str | None
    close_date: date | None
    next_step: str | None
    name: str | None = None
    amount: str | None = None


def _element(state: dict[str, Any], block_id: str) -> dict[str, Any]:
    return form_element(state, block_id)


def parse_deal_form(state: dict[str, Any]) -> DealForm:
    chosen = _element(state, _STAGE).get("selected_option") or {}
    stage = chosen.get("value") if isinstance(chosen, dict) else None
    raw_date = _element(state, _CLOSE).get("selected_date")
    try:
        close = date.fromisoformat(raw_date) if isinstance(raw_date, str) else None
    except ValueError:
        close = None
    text = {key: _element(state, key).get("value") for key in (_NEXT, _NAME, _AMOUNT)}
    clean = {key: value if isinstance(value, str) else None for key, value in text.items()}
    if clean[_AMOUNT] is None and _element(state, _AMOUNT):
        clean[_AMOUNT] = ""  # the field was there and left empty: no amount
    return DealForm(
        stage_id=stage if isinstance(stage, str) else None,
        close_date=close,
        next_step=clean[_NEXT] if clean[_NEXT] is not None else "",
        name=clean[_NAME],
        amount=clean[_AMOUNT],
    )


# The deal forms' inputs, by the name of the field the domain refuses (``OpResult.field``).
DEAL_FIELDS = FieldBlocks(
    default=_STAGE,
    blocks={"stage_id": _STAGE, "amount": _AMOUNT, "next_step": _NEXT, "name": _NAME},
)
