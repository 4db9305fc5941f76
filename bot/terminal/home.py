"""The Home tab outside Slack: Block Kit drawn in a terminal, and saved as JSON.

``home_tab_section`` is a ``bot.terminal`` section: it renders the user's Home tab
exactly as the app would publish it, prints it readably, and writes the Block Kit JSON to
``data/home-tab.json`` (paste it into https://app.slack.com/block-kit-builder).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from bot.terminal.sections import TerminalContext
from handlers.render.navigation import ViewState
from handlers.render.workspace import render_workspace
from rules.guided_actions import evaluate

DEFAULT_PATH = Path("data") / "home-tab.json"

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_EMOJI = {
    ":red_circle:": "●",
    ":warning:": "⚠",
    ":dart:": "◎",
    ":white_check_mark:": "✔",
    ":email:": "✉",
    ":telephone_receiver:": "☎",
    ":calendar:": "▦",
    ":memo:": "✎",
    ":eyes:": "👀",
    ":tada:": "🎉",
}


def home_tab_json(blocks: Sequence[dict[str, Any]]) -> str:
    """What Block Kit Builder accepts for a Home tab: ``{"type": "home", "blocks": [...]}``."""
    return json.dumps({"type": "home", "blocks": list(blocks)}, indent=2, ensure_ascii=False)


def write_home_tab(context: TerminalContext, path: Path = DEFAULT_PATH) -> list[dict[str, Any]]:
    """Render ``context.user``'s Home tab (overview) and write it as JSON to ``path``.

    The user's guided actions are evaluated first (flushed in the context's session), as
    opening the Home tab does.
    """
    evaluate(context.session, now=context.now, user_ids=[context.user.id])
    context.session.flush()
    rendered = render_workspace(
        context.session, viewer=context.user, state=ViewState(), now=context.now, surface="home"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(home_tab_json(rendered.blocks) + "\n", encoding="utf-8")
    return rendered.blocks


def home_tab_section(context: TerminalContext, path: Path = DEFAULT_PATH) -> RenderableType:
    """A demo section: the Home tab drawn in the terminal, JSON saved to ``path``."""
    blocks = write_home_tab(context, path)
    return Panel(
        draw_blocks(blocks),
        title="Slack Home tab",
        subtitle=f"{len(blocks)} blocks · Block Kit JSON in {path}",
        border_style="magenta",
    )


def draw_blocks(blocks: Sequence[dict[str, Any]]) -> RenderableType:
    """Block Kit as rich renderables: headers, sections, fields, context, buttons."""
    return Group(*[_draw(block) for block in blocks])


def _mrkdwn(text: str) -> Text:
    for code, glyph in _EMOJI.items():
        text = text.replace(code, glyph)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    out = Text()
    for token in re.split(r"(\*[^*\n]+\*|_[^_\n]+_|~[^~\n]+~|`[^`\n]+`)", text):
        if len(token) > 2 and token[0] == token[-1] and token[0] in "*_~`":
            style = {"*": "bold", "_": "italic", "~": "strike dim", "`": "cyan"}[token[0]]
            out.append(token[1:-1], style=style)
        else:
            out.append(token)
    return out


def _element(element: dict[str, Any]) -> Text:
    kind = element.get("type")
    if kind == "button":
        style = {"primary": "bold green", "danger": "bold red"}.get(
            element.get("style", ""), "bold"
        )
        return Text(f"[ {element['text']['text']} ]", style=style)
    if kind in {"static_select", "overflow"}:
        chosen = (element.get("initial_option") or {}).get("text", {}).get("text")
        label = chosen or (element.get("placeholder") or {}).get("text") or "⋯"
        return Text(f"[ {label} ▾ ]", style="bold blue")
    return Text(f"[{kind}]")


def _draw(block: dict[str, Any]) -> RenderableType:
    kind = block.get("type")
    if kind == "header":
        return Rule(Text(block["text"]["text"], style="bold magenta"), align="left")
    if kind == "divider":
        return Rule(style="dim")
    if kind == "context":
        return Text.assemble(
            *[_mrkdwn(e.get("text", "")) for e in block.get("elements", [])], style="dim"
        )
    if kind == "actions":
        return Text("  ").join(_element(e) for e in block.get("elements", []))
    if kind == "section":
        parts: list[RenderableType] = []
        if "text" in block:
            line = _mrkdwn(block["text"]["text"])
            if "accessory" in block:
                line.append("   ")
                line.append_text(_element(block["accessory"]))
            parts.append(line)
        for field in block.get("fields", []):
            parts.append(_mrkdwn(field.get("text", "")))
        return Group(*parts)
    return Text(f"[{kind} block]", style="dim")
