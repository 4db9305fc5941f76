"""Block Kit building blocks that stay inside Slack's limits by construction.

Everything the app shows in Slack is built here: every renderer (views, modals, digests,
insights) uses these builders rather than writing Block Kit dicts itself. Every builder
clips what it is given to Slack's documented maximum and shows the cut with an ellipsis
(never a silent cut). ``block_problems`` checks a finished list of blocks against the same
limits; renderers' tests and ``publishable`` use it.

Escaping has one choke point: every string Slack reads as mrkdwn (text objects, and a
message's fallback ``text``: ``fallback_text``) passes through ``mrkdwn_text``, which turns
every ``&``, ``<`` and ``>`` into Slack's entities. Only the markup this kit makes itself
(``link``, ``mention``) comes out as Slack markup: it is written with private markers that
CRM or user text cannot contain, so no data can ping (``<!channel>``, ``<@U…>``), name a
channel or disguise a link, whichever renderer forgot to ``escape`` it. ``escape`` only
marks CRM and user text as data: there ``mrkdwn_text`` also swaps mrkdwn's formatting
characters (``*``, ``_``, ``~``, a backtick) for look-alikes, so a deal called ``*Q4*_x``
cannot end the bold or italics a renderer put around it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from handlers.i18n import _

Block = dict[str, Any]
Surface = Literal["home", "modal", "message"]

MAX_BLOCKS: dict[Surface, int] = {"home": 100, "modal": 100, "message": 50}
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 2000
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
URL_LENGTH = 3000
ID_LENGTH = 255
OPTION_TEXT = 75
OPTION_VALUE = 150
SELECT_OPTIONS = 100
OVERFLOW_OPTIONS = 5
MODAL_TITLE = 24
PRIVATE_METADATA = 3000
INPUT_LABEL = 2000
PLACEHOLDER = 150
# A message's text: Slack truncates it past 40,000 characters.
MESSAGE_TEXT = 40_000
ELLIPSIS = "…"
WEB_LINKS = ("https://", "http://")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in "…" when it was cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


# Markup made by this kit is written between these markers and becomes "<...>" only in
# ``mrkdwn_text``. They are random per process, so text from the CRM or a user cannot
# carry them.
_OPEN = f"\ue000{secrets.token_hex(8)}\ue001"
_CLOSE = f"\ue002{secrets.token_hex(8)}\ue003"
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
# Characters that would end a URL early or start its label inside "<url|label>".
_URL_BREAKERS = str.maketrans({"|": "%7C", "<": "%3C", ">": "%3E", " ": "%20"})


# CRM and user text between these (``escape``) is data: ``mrkdwn_text`` escapes it. Single
# private-use characters: ``escape`` drops them from the data it marks.
_DATA_OPEN = "\ue004"
_DATA_CLOSE = "\ue005"
_NO_DATA_MARKS = str.maketrans("", "", _DATA_OPEN + _DATA_CLOSE)
_MARKERS = re.compile(f"({re.escape(_OPEN)}|{re.escape(_CLOSE)}|{_DATA_OPEN}|{_DATA_CLOSE})")
# mrkdwn has no escape for its formatting characters: in data they become look-alikes
# that Slack does not format (asterisk operator, modifier low macron, tilde operator,
# modifier grave accent). Only where one could open or close formatting: next to a space,
# punctuation or the data's edge. Inside a word (``hs_timestamp``) Slack formats nothing,
# and there it stays as written.
_LOOSE_FORMATTING = re.compile(r"(?<![^\W_])[*_~`]|[*_~`](?![^\W_])")
_FORMATTING_LOOKALIKES = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})


def escape(text: str) -> str:
    """Mark ``text`` (from the CRM, a user, the model) as data for mrkdwn.

    ``mrkdwn_text`` escapes it: ``&``, ``<``, ``>`` as Slack's entities, and mrkdwn's
    formatting characters as look-alikes, so it shows as written inside a renderer's own
    ``*bold*`` or ``_italics_``. In plain text (``plain``) the marks are dropped.
    """
    return f"{_DATA_OPEN}{text.translate(_NO_DATA_MARKS)}{_DATA_CLOSE}"


def link(url: str | None, label: str, *, schemes: tuple[str, ...] = WEB_LINKS) -> str:
    """An mrkdwn link, or the plain (escaped) label when there is no usable URL.

    The URL cannot choose the label: ``|``, ``<``, ``>`` and spaces in it are
    percent-encoded, and the label is escaped.

    Args:
        url: Where the link goes; only URLs starting with one of ``schemes`` are linked.
        label: The text shown (escaped here).
        schemes: Accepted URL prefixes (the Home tab's deep link is ``slack://``).
    """
    if not url or not url.startswith(schemes) or len(url) > URL_LENGTH:
        return escape(label)
    safe_label = escape(label).replace("|", "¦")
    return f"{_OPEN}{url.translate(_URL_BREAKERS)}|{safe_label}{_CLOSE}"


def mention(slack_user_id: str) -> str:
    """A Slack mention of a user the app knows (``<@U…>``); anything else stays text."""
    if not _SLACK_USER_ID.fullmatch(slack_user_id):
        return escape(slack_user_id)
    return f"{_OPEN}@{slack_user_id}{_CLOSE}"


# Embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): one left open in a
# CRM subject reverses the rest of the line it is shown in (due time, deal name, buttons'
# meaning). Right-to-left text needs none of them to show right, so they are dropped.
_DIRECTION_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def _without_direction_controls(text: str) -> str:
    return text.translate(_DIRECTION_CONTROLS)


def mrkdwn_text(text: str, limit: int) -> str:
    """Every string that Slack reads as mrkdwn passes here, clipped to ``limit``.

    The escaping choke point: any ``&``, ``<`` or ``>`` becomes text (so ``<!channel>``,
    ``<@U…>``, ``<#C…>`` or ``<http://x|label>`` in data shows as written and does
    nothing); only the kit's own ``link`` and ``mention`` become markup. In text marked by
    ``escape``, ``*``, ``_``, ``~`` and backticks become look-alikes too. ``mrkdwn`` (text
    objects) and ``fallback_text`` (a message's ``text``) both call it.
    """
    shown: list[str] = []
    data = markup = 0  # how deep inside ``escape``'s and the kit's markers
    for piece in _MARKERS.split(_without_direction_controls(text)):
        if piece == _DATA_OPEN:
            data += 1
        elif piece == _DATA_CLOSE:
            data = max(0, data - 1)
        elif piece in (_OPEN, _CLOSE):
            markup = max(0, markup + (1 if piece == _OPEN else -1))
            shown.append("<" if piece == _OPEN else ">")
        elif data:
            shown.append(_LOOSE_FORMATTING.sub(_lookalike, _entities(piece)))
        elif markup:
            # The kit's own: a link's address (already percent-encoded), a mention.
            shown.append(piece.replace("<", "&lt;").replace(">", "&gt;"))
        else:
            shown.append(_entities(piece))
    return clip("".join(shown), limit)


def _lookalike(found: re.Match[str]) -> str:
    return found.group().translate(_FORMATTING_LOOKALIKES)


def _entities(text: str) -> str:
    """The three characters Slack reads as control characters, as its entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": mrkdwn_text(text, limit)}


def fallback_text(text: str) -> str:
    """A message's ``text``: its notification, and what clients without blocks show.

    Every message the app sends or updates sets its ``text`` through this function.
    """
    return mrkdwn_text(text, MESSAGE_TEXT)


def plain(text: str, limit: int) -> dict[str, Any]:
    return {
        "type": "plain_text",
        "text": clip(_without_direction_controls(text).translate(_NO_DATA_MARKS), limit) or " ",
        "emoji": True,
    }


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def divider() -> Block:
    return {"type": "divider"}


def section(
    text: str,
    *,
    accessory: dict[str, Any] | None = None,
    block_id: str | None = None,
    fields: Sequence[str] = (),
) -> Block:
    """A section of mrkdwn ``text``, with up to 10 two-column ``fields`` under it."""
    block: Block = {"type": "section", "text": mrkdwn(text or " ")}
    if fields:
        block["fields"] = [mrkdwn(t or " ", FIELD_TEXT) for t in fields[:SECTION_FIELDS]]
    if accessory is not None:
        block["accessory"] = accessory
    if block_id is not None:
        block["block_id"] = clip(block_id, ID_LENGTH)
    return block


def sections(text: str) -> list[Block]:
    """Long text as as many sections as it needs, split at line ends where possible."""
    blocks: list[Block] = []
    rest = text
    while len(rest) > SECTION_TEXT:
        cut = rest.rfind("\n", 0, SECTION_TEXT)
        if cut <= 0:
            cut = SECTION_TEXT
        blocks.append(section(rest[:cut]))
        rest = rest[cut:].lstrip("\n")
    blocks.append(section(rest))
    return blocks


def field_sections(texts: Sequence[str]) -> list[Block]:
    """Two-column field sections, 10 fields each."""
    return [
        {"type": "section", "fields": [mrkdwn(t or " ", FIELD_TEXT) for t in chunk]}
        for chunk in _chunks(list(texts), SECTION_FIELDS)
    ]


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [mrkdwn(t or " ", CONTEXT_TEXT) for t in texts[:CONTEXT_ELEMENTS]],
    }


def button(
    text: str,
    *,
    action_id: str,
    value: str | None = None,
    style: Literal["primary", "danger"] | None = None,
    url: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT),
        "action_id": clip(action_id, ID_LENGTH),
    }
    if value is not None:
        if len(value) > BUTTON_VALUE:
            raise ValueError("a button value over 2,000 characters would be cut by Slack")
        element["value"] = value
    if style is not None:
        element["style"] = style
    if url is not None and url.startswith(("https://", "http://")) and len(url) <= URL_LENGTH:
        element["url"] = url
    if confirm is not None:
        element["confirm"] = confirm
    return element


def link_button(text: str, *, url: str, action_id: str) -> dict[str, Any]:
    """A button that opens ``url`` (Slack still sends its click: give it an ``action_id``)."""
    return button(text, action_id=action_id, url=url[:URL_LENGTH])


def overflow(action_id: str, options: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The "⋯" menu: (label, value) options, at most 5 shown by Slack."""
    return {
        "type": "overflow",
        "action_id": clip(action_id, ID_LENGTH),
        "options": [option(label, value) for label, value in options[:OVERFLOW_OPTIONS]],
    }


def option(text: str, value: str) -> dict[str, Any]:
    if len(value) > OPTION_VALUE:
        raise ValueError("an option value over 150 characters would be refused by Slack")
    return {"text": plain(text, OPTION_TEXT), "value": value}


def static_select(
    placeholder: str,
    *,
    action_id: str,
    options: Sequence[tuple[str, str]],
    initial: str | None = None,
) -> dict[str, Any]:
    built = [option(label, value) for label, value in options[:SELECT_OPTIONS]]
    element: dict[str, Any] = {
        "type": "static_select",
        "placeholder": plain(placeholder, PLACEHOLDER),
        "action_id": clip(action_id, ID_LENGTH),
        "options": built,
    }
    chosen = next((o for o in built if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return element


def actions(elements: Sequence[dict[str, Any]], *, block_id: str | None = None) -> list[Block]:
    """Actions blocks of at most 25 elements each (several blocks when there are more)."""
    blocks: list[Block] = []
    for chunk in _chunks(list(elements), ACTIONS_ELEMENTS):
        block: Block = {"type": "actions", "elements": chunk}
        if block_id is not None and not blocks:
            block["block_id"] = clip(block_id, ID_LENGTH)
        blocks.append(block)
    return blocks


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Modals and forms ---------------------------------------------------------------------
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
        "deny": plain(_("Cancel"), 30),
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
        "label": plain(label, INPUT_LABEL),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, INPUT_LABEL)
    return block


def modal(
    callback_id: str,
    title: str,
    blocks: list[Block],
    *,
    submit: str | None = None,
    close: str | None = None,
    private_metadata: str = "",
) -> dict[str, Any]:
    """A modal view; its blocks are checked against Slack's limits (a renderer bug raises).
    ``close``: the dismiss button's label (default "Cancel", in the reader's language)."""
    if len(private_metadata) > PRIVATE_METADATA:
        raise ValueError("private_metadata over 3,000 characters would be refused by Slack")
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, MODAL_TITLE),
        "close": plain(close if close is not None else _("Cancel"), MODAL_TITLE),
        "blocks": publishable(blocks, surface="modal"),
        "private_metadata": private_metadata,
    }
    if submit:
        view["submit"] = plain(submit, MODAL_TITLE)
    return view


@dataclass(frozen=True)
class FieldBlocks:
    """Where a form shows a refused value: the domain's field name -> the input's block_id.

    ``OpResult.field`` names the field a write refused; a refusal that names no field of
    this form goes under ``default``.
    """

    default: str
    blocks: Mapping[str, str] = field(default_factory=dict)

    def block_for(self, name: str | None) -> str:
        return self.blocks.get(name or "", self.default)


def form_element(state: object, block_id: str) -> dict[str, Any]:
    """The submitted value of the input ``block_id`` (whose element has the same id), or {}.

    A view's ``state`` comes from the request: any level may be missing or of the wrong type.
    """
    values = state.get("values") if isinstance(state, dict) else None
    block = values.get(block_id) if isinstance(values, dict) else None
    element = block.get(block_id) if isinstance(block, dict) else None
    return element if isinstance(element, dict) else {}


# Paging ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of item groups packed into a block budget."""

    number: int  # 1-based
    count: int
    blocks: list[Block]

    @property
    def label(self) -> str:
        return f"Page {self.number} of {self.count}"


def pack_pages(groups: Sequence[Sequence[Block]], *, budget: int, page: int = 1) -> Page:
    """Pack item groups (blocks that belong together) into pages of at most ``budget`` blocks.

    A group is never split across pages. ``page`` is clamped into range, so a stale "next"
    button on a list that shrank shows the last page rather than an error.

    Raises:
        ValueError: If a single group is larger than the budget.
    """
    if budget < 1:
        raise ValueError("a page needs room for at least one block")
    pages: list[list[Block]] = [[]]
    for group in groups:
        if len(group) > budget:
            raise ValueError(f"an item of {len(group)} blocks cannot fit a page of {budget}")
        if len(pages[-1]) + len(group) > budget:
            pages.append([])
        pages[-1].extend(group)
    number = min(max(page, 1), len(pages))
    return Page(number=number, count=len(pages), blocks=pages[number - 1])


# Checking ----------------------------------------------------------------------------


def block_problems(blocks: Sequence[Block], *, surface: Surface) -> list[str]:
    """Every way ``blocks`` break Slack's limits for ``surface``; empty when fine."""
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS[surface]:
        problems.append(f"{len(blocks)} blocks on a {surface} (max {MAX_BLOCKS[surface]})")
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        problems.append("duplicate block_id")
    for index, block in enumerate(blocks):
        where = f"block {index} ({block.get('type')})"
        problems.extend(f"{where}: {p}" for p in _block_problems(block))
    return problems


def _text_len(obj: dict[str, Any] | None) -> int:
    return len(obj.get("text", "")) if obj else 0


def _block_problems(block: Block) -> list[str]:
    problems: list[str] = []
    kind = block.get("type")
    if len(block.get("block_id", "")) > ID_LENGTH:
        problems.append("block_id too long")
    if kind == "header" and _text_len(block.get("text")) > HEADER_TEXT:
        problems.append("header text over 150")
    if kind == "section":
        problems.extend(_section_problems(block))
    if kind == "context":
        elements = block.get("elements", [])
        if not elements or len(elements) > CONTEXT_ELEMENTS:
            problems.append("context needs 1 to 10 elements")
    if kind == "actions":
        elements = block.get("elements", [])
        if not elements or len(elements) > ACTIONS_ELEMENTS:
            problems.append("actions needs 1 to 25 elements")
        for element in elements:
            problems.extend(_element_problems(element))
    return problems


def _section_problems(block: Block) -> list[str]:
    problems: list[str] = []
    if "text" not in block and "fields" not in block:
        problems.append("section without text or fields")
    if _text_len(block.get("text")) > SECTION_TEXT:
        problems.append("section text over 3000")
    if "text" in block and not block["text"].get("text"):
        problems.append("empty section text")
    block_fields = block.get("fields", [])
    if len(block_fields) > SECTION_FIELDS:
        problems.append("more than 10 fields")
    if any(_text_len(f) > FIELD_TEXT for f in block_fields):
        problems.append("field over 2000")
    if "accessory" in block:
        problems.extend(_element_problems(block["accessory"]))
    return problems


def _element_problems(element: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if len(element.get("action_id", "")) > ID_LENGTH:
        problems.append("action_id too long")
    if element.get("type") == "button":
        if _text_len(element.get("text")) > BUTTON_TEXT:
            problems.append("button text over 75")
        if len(element.get("value", "")) > BUTTON_VALUE:
            problems.append("button value over 2000")
        if len(element.get("url", "")) > URL_LENGTH:
            problems.append("button url over 3000")
    for opt in element.get("options", []):
        if _text_len(opt.get("text")) > OPTION_TEXT:
            problems.append("option text over 75")
        if len(opt.get("value", "")) > OPTION_VALUE:
            problems.append("option value over 150")
    if len(element.get("options", [])) > SELECT_OPTIONS:
        problems.append("more than 100 options")
    return problems


class BlockLimitError(ValueError):
    """Blocks that Slack would refuse; a renderer bug, never user input."""


def publishable(blocks: list[Block], *, surface: Surface) -> list[Block]:
    """Return ``blocks`` unchanged, or raise BlockLimitError listing what breaks a limit."""
    problems = block_problems(blocks, surface=surface)
    if problems:
        raise BlockLimitError("; ".join(problems[:5]))
    return blocks
