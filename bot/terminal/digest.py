"""Digests in a terminal: Block Kit as plain text, and the demo's digest section."""

from __future__ import annotations

import re
from typing import Any

from rich.console import RenderableType
from rich.emoji import Emoji
from rich.panel import Panel
from rich.text import Text

from bot.digests.compose import DigestComposer
from bot.digests.deliver import Message
from bot.digests.schedule import due_now_for_user
from bot.terminal.sections import TerminalContext

_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_MENTION = re.compile(r"<@([A-Z0-9]+)>")


def _plain(mrkdwn: str) -> str:
    text = _LINK.sub(r"\2", mrkdwn)
    text = _MENTION.sub(r"@\1", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return Emoji.replace(text.replace("*", ""))


def _element_label(element: dict[str, Any]) -> str:
    if element.get("type") == "overflow":
        return "[" + " | ".join(o["text"]["text"] for o in element.get("options", [])) + "]"
    text = element.get("text", {}).get("text", "")
    return f"[{text}]"


def blocks_as_text(blocks: list[dict[str, Any]]) -> Text:
    """Block Kit as the terminal shows it: text, buttons in brackets, rules for dividers."""
    out = Text()
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            out.append(block["text"]["text"] + "\n", style="bold")
        elif kind == "divider":
            out.append("─" * 60 + "\n", style="dim")
        elif kind == "context":
            line = " ".join(_plain(e.get("text", "")) for e in block.get("elements", []))
            out.append(line + "\n", style="dim")
        elif kind == "section":
            if "text" in block:
                out.append(_plain(block["text"]["text"]))
            if "accessory" in block:
                out.append("  " + _element_label(block["accessory"]), style="cyan")
            out.append("\n")
            for field in block.get("fields", []):
                out.append("  " + _plain(field["text"]).replace("\n", ": ") + "\n")
        elif kind == "actions":
            labels = "  ".join(_element_label(e) for e in block.get("elements", []))
            out.append("  " + labels + "\n", style="cyan")
    return out


def digest_section(context: TerminalContext) -> RenderableType | None:
    """The ``salesbot demo`` section: the shown user's digest as it would arrive this morning.

    None when nothing would be sent.
    """
    due = due_now_for_user(context.session, context.user, context.now)
    outgoing = DigestComposer()(context.session, due, context.now)
    if not isinstance(outgoing, Message):
        return None
    title = f"Daily digest (Slack DM): {context.user.name} · {due.local_date:%a %d %b}"
    return Panel(blocks_as_text(outgoing.blocks), title=title, expand=False)
