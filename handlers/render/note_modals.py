"""The "Add note" modal: a note on a deal (or a contact, a company)."""

from __future__ import annotations

from typing import Any

from handlers.i18n import _
from handlers.render.kit import (
    Block,
    FieldBlocks,
    context,
    escape,
    form_element,
    input_block,
    modal,
    section,
)
from handlers.slack import ids
from handlers.slack.metadata import metadata

_BODY = "body"
# Slack's plain_text_input takes at most 3,000 characters.
_BODY_INPUT_MAX = 3000


def note_modal(on: str, record_id: int, name: str, *, origin: dict[str, Any]) -> Block:
    """A note for the record ``on``/``record_id`` (named ``name``)."""
    body: Block = {
        "type": "plain_text_input",
        "action_id": _BODY,
        "multiline": True,
        "max_length": _BODY_INPUT_MAX,
    }
    return modal(
        ids.VIEW_NOTE_ADD,
        _("Add note"),
        [
            section("*" + escape(name) + "*"),
            input_block(_BODY, _("Note"), body),
            context(_("Only you and those who may see your activities read it.")),
        ],
        submit=_("Add note"),
        private_metadata=metadata(on=on, id=record_id, origin=origin),
    )


def parse_note(state: dict[str, Any]) -> str | None:
    """The note the form held, or None."""
    value = form_element(state, _BODY).get("value")
    return value if isinstance(value, str) else None


NOTE_FIELDS = FieldBlocks(default=_BODY)
