"""Telling the user what a click did: a result line, a result modal, the follow-up prompt."""

from __future__ import annotations

from handlers.i18n import _
from handlers.i18n.phrases import spoken
from handlers.render.kit import (
    MAX_BLOCKS,
    Block,
    actions,
    button,
    context,
    escape,
    modal,
    notice,
    section,
)
from handlers.slack import ids
from rules.op_result import OpResult, OpStatus

MESSAGE_BLOCKS = MAX_BLOCKS["message"]

_ICONS = {
    OpStatus.DONE: ":white_check_mark:",
    OpStatus.ALREADY: ":information_source:",
    OpStatus.NOT_FOUND: ":grey_question:",
    OpStatus.FORBIDDEN: ":no_entry:",
    OpStatus.INVALID: ":warning:",
}


def result_sentence(result: OpResult) -> str:
    """What a write did, in the reader's language: the one place an ``OpResult`` becomes
    words (its sentence, then its note). Plain text: escape it for mrkdwn."""
    parts = [result.sentence, *([result.note] if result.note is not None else [])]
    return " ".join(spoken(part) for part in parts)


def result_text(result: OpResult) -> str:
    """The one line a user reads after a click, with an icon for its kind (mrkdwn)."""
    return f"{_ICONS[result.status]} {escape(result_sentence(result))}"


def result_line(result: OpResult, *, block_id: str | None = None) -> Block:
    return notice(result_text(result), block_id=block_id)


def replace_block(blocks: list[Block], block_id: str, replacement: list[Block]) -> list[Block]:
    """``blocks`` with the block ``block_id`` swapped for ``replacement`` (others untouched).

    A message row is usually a section (the record) and an actions block (its buttons);
    swapping the actions block for the result keeps the record readable and removes the
    buttons that no longer apply. When no block has that id, the result goes at the end.
    """
    out: list[Block] = []
    found = False
    for block in blocks:
        if not found and block.get("block_id") == block_id:
            out.extend(replacement)
            found = True
        else:
            out.append(block)
    if not found:
        out.extend(replacement)
    if len(out) > MESSAGE_BLOCKS and len(replacement) > 1:
        # A full message: keep only the replacement's last block (its buttons) rather than
        # lose a block of someone else's content.
        return replace_block(blocks, block_id, replacement[-1:])
    return out


def result_modal(title: str, result: OpResult) -> Block:
    """A modal that only says what happened (after a form, or instead of one)."""
    return modal(ids.VIEW_RESULT, title, [section(result_text(result))], close=_("Close"))


def follow_up_prompt(task_id: int, message: str, *, block_id: str) -> list[Block]:
    """After a completed task: "Create a follow-up task?" with Create task / Not now / Task
    settings (which turns the prompt off) / Reopen."""
    value = str(task_id)
    return [
        context(f":white_check_mark: {escape(message)} " + _("Create a follow-up task?")),
        *actions(
            [
                button(
                    _("Create task"), action_id=ids.FOLLOW_UP_CREATE, value=value, style="primary"
                ),
                button(_("Not now"), action_id=ids.FOLLOW_UP_NOT_NOW, value=value),
                button(_("Task settings"), action_id=ids.FOLLOW_UP_SETTINGS, value=value),
                reopen_button(task_id),
            ],
            block_id=block_id,
        ),
    ]


def reopen_button(task_id: int) -> dict[str, object]:
    """ "Reopen" on a completed task (undoes "Complete")."""
    return button(_("Reopen"), action_id=ids.TASK_REOPEN, value=str(task_id))


def completed_line(task_id: int, message: str, *, block_id: str) -> list[Block]:
    """After a completed task (no follow-up prompt): "Done: ... completed." and Reopen."""
    return [
        context(f":white_check_mark: {escape(message)}"),
        *actions([reopen_button(task_id)], block_id=block_id),
    ]


def add_line_after(blocks: list[Block], block_id: str, line: Block) -> list[Block]:
    """``blocks`` with ``line`` right after the block ``block_id`` (replacing the line a
    previous click left there, so block ids stay unique)."""
    line_id = line.get("block_id")
    kept = [b for b in blocks if line_id is None or b.get("block_id") != line_id]
    out: list[Block] = []
    for block in kept:
        out.append(block)
        if block.get("block_id") == block_id:
            out.append(line)
    if len(out) == len(kept):
        out.append(line)
    return out
