"""Modals to log a meeting's or a call's outcome."""

from __future__ import annotations

from typing import Any

from handlers.i18n import N_, _
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
from rules.meetings.ops import CALL_DISPOSITIONS
from rules.meetings.wording import MEETING_OUTCOME_LABELS
from storage.models import Activity, CallStatus, MeetingOutcome

_OUTCOME, _STATUS = "outcome", "call_status"

CALL_STATUS_LABELS = {
    CallStatus.COMPLETED: N_("Completed"),
    CallStatus.BUSY: N_("Busy"),
    CallStatus.NO_ANSWER: N_("No answer"),
    CallStatus.FAILED: N_("Failed"),
    CallStatus.CANCELED: N_("Canceled"),
}


def meeting_outcome_modal(meeting: Activity, *, origin: dict[str, Any]) -> Block:
    choices = [o for o in MeetingOutcome if o is not MeetingOutcome.SCHEDULED]
    element: Block = {
        "type": "radio_buttons",
        "action_id": _OUTCOME,
        "options": [option(_(MEETING_OUTCOME_LABELS[o]), o.value) for o in choices],
    }
    if meeting.outcome in {o.value for o in choices}:
        current = MeetingOutcome(meeting.outcome)
        element["initial_option"] = option(_(MEETING_OUTCOME_LABELS[current]), current.value)
    return modal(
        ids.VIEW_MEETING_OUTCOME,
        _("Meeting outcome"),
        [
            section("*" + escape(meeting.subject or _("Meeting")) + "*"),
            input_block(_OUTCOME, _("Outcome"), element),
        ],
        submit=_("Log outcome"),
        private_metadata=metadata(id=meeting.id, origin=origin),
    )


def call_outcome_modal(call: Activity, *, origin: dict[str, Any]) -> Block:
    dispositions = list(CALL_DISPOSITIONS)
    if call.outcome and call.outcome not in dispositions:
        dispositions.append(call.outcome)  # a portal's own label stays choosable
    outcome: Block = {
        "type": "static_select",
        "action_id": _OUTCOME,
        "options": [option(label, label) for label in dispositions],
    }
    if call.outcome:
        outcome["initial_option"] = option(call.outcome, call.outcome)
    status: Block = {
        "type": "static_select",
        "action_id": _STATUS,
        "options": [option(_(label), value.value) for value, label in CALL_STATUS_LABELS.items()],
    }
    if call.call_status in CALL_STATUS_LABELS:
        current = CallStatus(call.call_status)
        status["initial_option"] = option(_(CALL_STATUS_LABELS[current]), current.value)
    return modal(
        ids.VIEW_CALL_OUTCOME,
        _("Call outcome"),
        [
            section(f"*{escape(call.subject or 'Call')}*"),
            input_block(_OUTCOME, _("Outcome"), outcome),
            input_block(_STATUS, _("Call status"), status, optional=True),
        ],
        submit=_("Log outcome"),
        private_metadata=metadata(id=call.id, origin=origin),
    )


def _element(state: dict[str, Any], block_id: str) -> dict[str, Any]:
    return form_element(state, block_id)


def _selected(state: dict[str, Any], block_id: str) -> str | None:
    chosen = _element(state, block_id).get("selected_option") or {}
    value = chosen.get("value") if isinstance(chosen, dict) else None
    return value if isinstance(value, str) else None


def parse_outcome(state: dict[str, Any]) -> tuple[str | None, str | None]:
    """(outcome, call status) as the form held them; None where nothing was picked."""
    return _selected(state, _OUTCOME), _selected(state, _STATUS)


# Every refusal shows under the outcome (the status is optional and picked from a list).
OUTCOME_FIELDS = FieldBlocks(default=_OUTCOME)
