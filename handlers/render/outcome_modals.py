"""Modals to log a meeting's or a call's outcome, and to log a new call on a deal."""

from __future__ import annotations

from typing import Any

from handlers.i18n import N_, _
from handlers.render.kit import (
    Block,
    FieldBlocks,
    context,
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
from storage.models import Activity, CallStatus, Deal, MeetingOutcome

_OUTCOME, _STATUS, _NOTES = "outcome", "call_status", "notes"
# Slack's plain_text_input takes at most 3,000 characters.
_NOTES_INPUT_MAX = 3000

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
    """Outcome, status and notes of a call that happened (the notes start as they are)."""
    return modal(
        ids.VIEW_CALL_OUTCOME,
        _("Call outcome"),
        [
            section(f"*{escape(call.subject or _('Call'))}*"),
            *_call_inputs(call.outcome, call.call_status, call.body),
        ],
        submit=_("Log outcome"),
        private_metadata=metadata(id=call.id, origin=origin),
    )


def call_log_modal(deal: Deal, *, origin: dict[str, Any]) -> Block:
    """ "Log a call" on a deal: a call made just now, its outcome, status and notes."""
    return modal(
        ids.VIEW_CALL_LOG,
        _("Log a call"),
        [
            section("*" + escape(deal.name) + "*"),
            *_call_inputs(None, CallStatus.COMPLETED, None),
        ],
        submit=_("Log call"),
        private_metadata=metadata(id=deal.id, origin=origin),
    )


def _call_inputs(
    current: str | None, current_status: CallStatus | None, notes: str | None
) -> list[Block]:
    dispositions = list(CALL_DISPOSITIONS)
    if current and current not in dispositions:
        dispositions.append(current)  # a portal's own label stays choosable
    outcome: Block = {
        "type": "static_select",
        "action_id": _OUTCOME,
        "options": [option(label, label) for label in dispositions],
    }
    if current:
        outcome["initial_option"] = option(current, current)
    status: Block = {
        "type": "static_select",
        "action_id": _STATUS,
        "options": [option(_(label), value.value) for value, label in CALL_STATUS_LABELS.items()],
    }
    if current_status in CALL_STATUS_LABELS:
        chosen = CallStatus(current_status)
        status["initial_option"] = option(_(CALL_STATUS_LABELS[chosen]), chosen.value)
    inputs = [
        input_block(_OUTCOME, _("Outcome"), outcome),
        input_block(_STATUS, _("Call status"), status, optional=True),
    ]
    if notes and len(notes) > _NOTES_INPUT_MAX:
        # Cut to fit the field, they would be saved cut: without the field they stay whole.
        return [*inputs, context(_("This call's notes are too long to edit here: they stay."))]
    text: Block = {
        "type": "plain_text_input",
        "action_id": _NOTES,
        "multiline": True,
        "max_length": _NOTES_INPUT_MAX,
    }
    if notes:
        text["initial_value"] = notes
    return [*inputs, input_block(_NOTES, _("Notes"), text, optional=True)]


def _element(state: dict[str, Any], block_id: str) -> dict[str, Any]:
    return form_element(state, block_id)


def _selected(state: dict[str, Any], block_id: str) -> str | None:
    chosen = _element(state, block_id).get("selected_option") or {}
    value = chosen.get("value") if isinstance(chosen, dict) else None
    return value if isinstance(value, str) else None


def parse_outcome(state: dict[str, Any]) -> tuple[str | None, str | None]:
    """(outcome, call status) as the form held them; None where nothing was picked."""
    return _selected(state, _OUTCOME), _selected(state, _STATUS)


def parse_call_notes(state: dict[str, Any]) -> str | None:
    """The notes a call form held: "" when the field was left empty, None when the form
    had no notes field (a form opened before there was one: the notes stay as they are)."""
    element = _element(state, _NOTES)
    value = element.get("value")
    if isinstance(value, str):
        return value
    return "" if element else None


# Every refusal shows under the outcome (the status is picked from a list), except the notes'.
OUTCOME_FIELDS = FieldBlocks(default=_OUTCOME, blocks={"notes": _NOTES})
