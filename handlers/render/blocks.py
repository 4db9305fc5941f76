"""Modal builders for the button forms (the general blocks are in ``handlers.render.kit``)."""

from __future__ import annotations

from typing import Any

from handlers.render.kit import (
    MODAL_TITLE,
    PRIVATE_METADATA,
    Block,
    clip,
    context,
    plain,
    publishable,
)

__all__ = ["Block", "confirm_dialog", "input_block", "modal", "notice"]


def notice(text: str, *, block_id: str | None = None) -> Block:
    """A one-line context block, with a block id when a later update must find it."""
    block = context(text)
    if block_id is not None:
        block["block_id"] = clip(block_id, 255)
    return block


def confirm_dialog(title: str, text: str, yes: str, *, danger: bool = False) -> Block:
    """Slack's "Are you sure?" dialog on a button."""
    dialog: Block = {
        "title": plain(title, 100),
        "text": plain(text, 300),
        "confirm": plain(yes, 30),
        "deny": plain("Cancel", 30),
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def input_block(
    block_id: str, label: str, element: Block, *, optional: bool = False, hint: str | None = None
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def modal(
    callback_id: str,
    title: str,
    blocks: list[Block],
    *,
    submit: str | None = None,
    close: str = "Cancel",
    private_metadata: str = "",
) -> dict[str, Any]:
    """A modal view; its blocks are checked against Slack's limits (a renderer bug raises)."""
    if len(private_metadata) > PRIVATE_METADATA:
        raise ValueError("private_metadata over 3,000 characters would be refused by Slack")
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, MODAL_TITLE),
        "close": plain(close, MODAL_TITLE),
        "blocks": publishable(blocks, surface="modal"),
        "private_metadata": private_metadata,
    }
    if submit:
        view["submit"] = plain(submit, MODAL_TITLE)
    return view


def form_element(state: object, block_id: str) -> dict[str, Any]:
    """The submitted value of the input ``block_id`` (whose element has the same id), or {}.

    A view's ``state`` comes from the request: any level may be missing or of the wrong type.
    """
    values = state.get("values") if isinstance(state, dict) else None
    block = values.get(block_id) if isinstance(values, dict) else None
    element = block.get(block_id) if isinstance(block, dict) else None
    return element if isinstance(element, dict) else {}
