"""A nudge DM: the actions that just arose, with the digest's buttons and "Fewer like this"."""

from __future__ import annotations

from handlers.i18n import _, ngettext
from handlers.render.actions import action_title
from handlers.render.digest import action_line_blocks
from handlers.render.kit import Block, actions, button, context, escape, fallback_text
from handlers.slack import ids
from rules.digests.content import ActionLine
from rules.digests.nudges import KIND_LABELS, Nudge, NudgeLine


def nudge_text(nudge: Nudge) -> str:
    """The notification line: the first action, and how many more."""
    first = escape(_line_title(nudge.lines[0]))
    more = len(nudge.lines) - 1
    if not more:
        return fallback_text(first)
    return fallback_text(
        ngettext("{title} (and {count} more)", "{title} (and {count} more)", more).format(
            title=first, count=more
        )
    )


def render_nudge(nudge: Nudge) -> list[Block]:
    """One block group per action: what kind of nudge, the action, its buttons."""
    blocks: list[Block] = []
    for line in nudge.lines:
        blocks.append(context(f":bell: {_(KIND_LABELS[line.kind])}"))
        blocks += action_line_blocks(
            ActionLine(
                id=line.action_id,
                title=line.title,
                category=line.category,
                call_to_action=line.call_to_action,
                title_template=line.title_template,
                title_value=line.title_value,
            )
        )
        # The digest's "Not really", one click away: it sinks the kind in the ranking and,
        # said twice, stops nudges of that kind.
        blocks += actions(
            [
                button(
                    _("Fewer like this"),
                    action_id=ids.ACTION_FEEDBACK,
                    value=f"{line.action_id}:no",
                )
            ],
            block_id=f"nudge_fewer_{line.action_id}",
        )
    blocks.append(
        context(_("Nudges: change kinds, quiet hours and the daily limit in /sales settings."))
    )
    return blocks


def _line_title(line: NudgeLine) -> str:
    return action_title(line.title, line.title_template, line.title_value)
