"""A nudge DM: the actions that just arose, with the digest's buttons and "Fewer like this"."""

from __future__ import annotations

from handlers.render.digest import action_line_blocks
from handlers.render.kit import Block, actions, button, context, fallback_text
from handlers.slack import ids
from rules.digests.content import ActionLine
from rules.digests.nudges import KIND_LABELS, Nudge


def nudge_text(nudge: Nudge) -> str:
    """The notification line: the first action, and how many more."""
    first = nudge.lines[0].title
    more = len(nudge.lines) - 1
    return fallback_text(first + (f" (and {more} more)" if more else ""))


def render_nudge(nudge: Nudge) -> list[Block]:
    """One block group per action: what kind of nudge, the action, its buttons."""
    blocks: list[Block] = []
    for line in nudge.lines:
        blocks.append(context(f":bell: {KIND_LABELS[line.kind]}"))
        blocks += action_line_blocks(
            ActionLine(
                id=line.action_id,
                title=line.title,
                category=line.category,
                call_to_action=line.call_to_action,
            )
        )
        # The digest's "Not really", one click away: it sinks the kind in the ranking and,
        # said twice, stops nudges of that kind.
        blocks += actions(
            [
                button(
                    "Fewer like this", action_id=ids.ACTION_FEEDBACK, value=f"{line.action_id}:no"
                )
            ],
            block_id=f"nudge_fewer_{line.action_id}",
        )
    blocks.append(
        context("Nudges: change kinds, quiet hours and the daily limit in /sales settings.")
    )
    return blocks
