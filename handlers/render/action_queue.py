"""The queue of a guided action's items: one item at a time, with Done and Skip."""

from __future__ import annotations

from handlers.i18n import _
from handlers.render.actions import action_title
from handlers.render.kit import Block, actions, button, context, escape, modal, notice, section
from handlers.slack import ids
from handlers.slack.metadata import metadata
from rules.guided_actions import ActionView, ItemView


def action_queue_view(
    action: ActionView | None,
    *,
    action_id: int,
    done: list[int],
    skipped: list[int],
    note: str | None = None,
) -> Block:
    """The first open item of ``action`` not yet done or skipped here; "all done" when none."""
    blocks: list[Block] = []
    if note:
        blocks.append(notice(escape(note)))
    passed = set(done) | set(skipped)
    items = list(action.items) if action is not None else []
    remaining = [item for item in items if item.id not in passed]
    meta = metadata(action=action_id, done=done[-120:], skipped=skipped[-120:])
    if action is not None:
        title = action_title(action.title, action.title_template, action.title_value)
        blocks.append(section(f"*{escape(title)}*\n{escape(_(action.call_to_action))}"))
    if not remaining:
        blocks.append(section(":tada: " + _("Nothing left in this suggestion's list.")))
        return modal(
            ids.VIEW_ACTION_QUEUE,
            _("Suggestion"),
            blocks,
            close=_("Close"),
            private_metadata=meta,
        )
    item = remaining[0]
    total = len(items) + sum(1 for item_id in done if item_id not in {i.id for i in items})
    position = total - len(remaining) + 1
    blocks += [
        context(_("Item {number} of {count}").format(number=position, count=total)),
        section(_describe(item)),
        *actions(
            [
                button(
                    _("Done"),
                    action_id=ids.ACTION_ITEM_DONE,
                    value=f"{action_id}:{item.id}",
                    style="primary",
                ),
                button(_("Skip"), action_id=ids.ACTION_QUEUE_NEXT, value=str(item.id)),
            ],
            block_id=f"gaq:{item.id}",
        ),
    ]
    return modal(
        ids.VIEW_ACTION_QUEUE, _("Suggestion"), blocks, close=_("Done"), private_metadata=meta
    )


def _describe(item: ItemView) -> str:
    lines = [f"*{escape(item.label)}*"]
    linked = [r.label for r in (item.contact, item.company) if r is not None]
    if linked:
        lines.append(escape(" · ".join(linked)))
    return "\n".join(lines)
