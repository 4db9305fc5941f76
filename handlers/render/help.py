"""The ``/sales`` help, shown for ``/sales help``, unknown input and DMs to the bot."""

from __future__ import annotations

from handlers.i18n import N_, _
from handlers.render.kit import Block, context, header, section

COMMANDS: list[tuple[str, str]] = [
    ("/sales", N_("your workspace overview (same as `/sales home`)")),
    (
        "/sales tasks [completed]",
        N_("open tasks: overdue, due today, due tomorrow, later; `completed`: done lately"),
    ),
    (
        "/sales deals [no_activity]",
        N_("your deals; `no_activity`: open deals with nothing scheduled"),
    ),
    ("/sales leads", N_("your leads by stage")),
    ("/sales schedule [day|week|month]", N_("meetings and tasks due, with conflicts")),
    (
        "/sales feed [type]",
        N_("your contacts' activity of the last year (type: email, call, ...)"),
    ),
    ("/sales deal <name>", N_("Deal Insights for a deal you may see")),
    ("/sales settings", N_("digest time, time zone, follow-up prompt, muted actions, language")),
    (
        "/sales as @someone [view]",
        N_("super admins: another user's workspace (meetings show as Busy)"),
    ),
    ("/sales help", N_("this help")),
]


def help_text(intro: str | None = None) -> str:
    lines = [f"`{usage}`  {_(what)}" for usage, what in COMMANDS]
    body = "\n".join(lines)
    return f"{intro}\n\n{body}" if intro else body


def help_blocks(intro: str | None = None) -> list[Block]:
    blocks: list[Block] = [header(_("salesbot: your sales workspace in Slack"))]
    if intro:
        blocks.append(section(intro))
    blocks.append(section(help_text()))
    blocks.append(context(_("Your Home tab (click salesbot in the sidebar) shows the same views.")))
    return blocks
