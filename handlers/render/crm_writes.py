"""A write the connected CRM did not take (or took late): the message its user gets."""

from __future__ import annotations

from handlers.render.kit import Block, actions, button, section
from handlers.slack import ids
from rules.crm_writes.queries import Notice, NoticeKind


def write_notice_blocks(notice: Notice) -> list[Block]:
    """The sentence, and the answers the notice offers (block id ``crm_write:<row id>``)."""
    value = str(notice.row_id)
    buttons = []
    if notice.kind is NoticeKind.CONFLICT:
        buttons = [
            button("Apply mine", action_id=ids.CRM_WRITE_APPLY_MINE, value=value, style="primary"),
            button("Keep theirs", action_id=ids.CRM_WRITE_KEEP_THEIRS, value=value),
        ]
    elif notice.kind is NoticeKind.FAILED and notice.can_retry:
        buttons = [button("Retry", action_id=ids.CRM_WRITE_RETRY, value=value)]
    blocks = [section(notice.text)]
    if buttons:
        blocks += actions(buttons, block_id=f"crm_write:{notice.row_id}")
    return blocks
