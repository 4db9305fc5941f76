"""The ``/sales`` help, shown for ``/sales help``, unknown input and DMs to the bot."""

from __future__ import annotations

from handlers.render.kit import Block, context, header, section

COMMANDS: list[tuple[str, str]] = [
    ("/sales", "your workspace overview (same as `/sales home`)"),
    ("/sales tasks", "open tasks: overdue, due today, due tomorrow, later"),
    ("/sales deals [no_activity]", "your deals; `no_activity`: open deals with nothing scheduled"),
    ("/sales leads", "your leads by stage"),
    ("/sales schedule [day|week|month]", "meetings and tasks due, with conflicts"),
    ("/sales feed [type]", "your contacts' activity of the last year (type: email, call, ...)"),
    ("/sales deal <name>", "Deal Insights for a deal you may see"),
    ("/sales settings", "digest time, time zone, follow-up prompt, muted actions"),
    ("/sales as @someone [view]", "super admins: another user's workspace (meetings show as Busy)"),
    ("/sales help", "this help"),
]


def help_text(intro: str | None = None) -> str:
    lines = [f"`{usage}`  {what}" for usage, what in COMMANDS]
    body = "\n".join(lines)
    return f"{intro}\n\n{body}" if intro else body


def help_blocks(intro: str | None = None) -> list[Block]:
    blocks: list[Block] = [header("salesbot: your sales workspace in Slack")]
    if intro:
        blocks.append(section(intro))
    blocks.append(section("\n".join(f"`{usage}`  {what}" for usage, what in COMMANDS)))
    blocks.append(context("Your Home tab (click salesbot in the sidebar) shows the same views."))
    return blocks
