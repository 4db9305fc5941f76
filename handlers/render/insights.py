"""Deal Insights in Block Kit: the answer, the full modal, deal choices, follow-ups, feedback.

Pure: domain values in, blocks out. Cited activities are numbered footnotes ([1], [2]...)
listed under the answer; with ``activity_url`` they link to the CRM record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from handlers.i18n import N_, _, ngettext
from handlers.i18n.formats import full_date, money, short_day
from handlers.render.kit import (
    MAX_BLOCKS,
    Block,
    actions,
    button,
    clip,
    context,
    escape,
    header,
    input_block,
    link,
    modal,
    section,
    sections,
)
from handlers.slack import ids
from insights.answer import CitedStatement
from insights.evidence import ActivityEvidence, DealFacts
from insights.finder import DealSearch
from insights.report import insight_text
from insights.risks import Risk
from insights.service import DealInsight, FollowUpAnswer

ActivityUrl = Callable[[int], str | None]
# An activity's kind as a footnote names it.
KIND_NAMES = {
    "email": N_("Email"),
    "call": N_("Call"),
    "meeting": N_("Meeting"),
    "note": N_("Note"),
    "task": N_("Task"),
}
FEEDBACK_INPUT_BLOCK = "insights_feedback_text"
FEEDBACK_INPUT_ACTION = "text"
FEEDBACK_MAX_CHARS = 500
# Slack's message and modal limits leave room for this many statements per section.
SHORT_STATEMENTS = 3


def _no_url(_activity_id: int) -> str | None:
    return None


class _Footnotes:
    """Numbers cited activities in order of first citation."""

    def __init__(self, activities: dict[int, ActivityEvidence], url: ActivityUrl) -> None:
        self._activities = activities
        self._url = url
        self.order: list[int] = []

    def cite(self, activity_ids: Sequence[int]) -> str:
        marks = []
        for activity_id in activity_ids:
            if activity_id not in self._activities:
                continue  # never happens after the citation check; never show a raw id
            if activity_id not in self.order:
                self.order.append(activity_id)
            marks.append(f"[{self.order.index(activity_id) + 1}]")
        return " ".join(marks)

    def block(self) -> Block | None:
        if not self.order:
            return None
        entries = [
            f"[{number}] " + _activity_label(self._activities[i], self._url)
            for number, i in enumerate(self.order, start=1)
        ]
        return context(*_join_within(entries, limit=1900))


def _join_within(entries: list[str], *, limit: int) -> list[str]:
    """Entries joined with " · " into at most 10 context elements of ``limit`` characters."""
    chunks: list[str] = []
    for entry in entries:
        if chunks and len(chunks[-1]) + 3 + len(entry) <= limit:
            chunks[-1] += " · " + entry
        else:
            chunks.append(entry)
    return chunks[:10]


def _activity_label(activity: ActivityEvidence, url: ActivityUrl) -> str:
    when = short_day(activity.occurred_at)
    kind = _(KIND_NAMES[activity.kind.value]) if activity.kind.value in KIND_NAMES else ""
    return link(url(activity.id), f"{kind or activity.kind.value}, {when}: {activity.title}")


def _deal_line(deal: DealFacts) -> str:
    facts = [deal.stage]
    if deal.amount is not None:
        facts.append(money(deal.amount, deal.currency))
    if deal.close_date is not None:
        facts.append(_("closes {date}").format(date=full_date(deal.close_date)))
    if deal.owner_name:
        facts.append(_("owner {name}").format(name=deal.owner_name))
    if deal.company:
        facts.append(deal.company)
    return escape(" · ".join(facts))


def _statement_lines(statements: Sequence[CitedStatement], notes: _Footnotes) -> list[str]:
    return [f"• {escape(s.text)} {notes.cite(s.activity_ids)}" for s in statements]


def _risk_lines(risks: Sequence[Risk], notes: _Footnotes) -> list[str]:
    lines = []
    for risk in risks:
        mark = notes.cite([risk.activity_id]) if risk.activity_id is not None else ""
        lines.append(f"• {escape(risk_text(risk))} {mark}".rstrip())
    return lines


def risk_text(risk: Risk) -> str:
    """A risk's sentence in the reader's language: its template translated, then filled in
    (days counted with plurals, dates as the locale writes them)."""
    if not risk.template:
        return risk.text
    values: dict[str, object] = {}
    for key, value in risk.values:
        if key == "days" and isinstance(value, int):
            values[key] = ngettext("{count} day", "{count} days", value).format(count=value)
        elif isinstance(value, date):
            values[key] = full_date(value)
        else:
            values[key] = value
    return _(risk.template).format(**values)


def _recent_lines(recent: Sequence[ActivityEvidence], url: ActivityUrl) -> list[str]:
    return [f"• {_activity_label(a, url)}" for a in recent] or [
        "_" + _("No activity you can see.") + "_"
    ]


def insight_blocks(
    insight: DealInsight, *, full: bool = False, activity_url: ActivityUrl = _no_url
) -> list[Block]:
    """The answer to ``/sales deal`` or a DM question (``full`` for the modal).

    The message shows at most three AI statements a section and the buttons; the modal
    shows everything and the text in a copyable block.
    """
    limit = None if full else SHORT_STATEMENTS
    notes = _Footnotes(insight.activities, activity_url)
    blocks: list[Block] = [
        header(_("Deal Insights: {deal}").format(deal=insight.deal.name)),
        context(_deal_line(insight.deal)),
    ]
    if insight.notice:
        blocks.append(context(f":information_source: {escape(_(insight.notice))}"))
    ai = insight.ai

    recent = ["*" + _("Recent activity") + "*"]
    if ai is not None:
        recent += _statement_lines(ai.recent_activity[:limit], notes)
    recent += _recent_lines(insight.recent, activity_url)
    blocks.append(section(clip("\n".join(recent), 3000)))

    risks = ["*" + _("Risks") + "*", *_risk_lines(insight.risks, notes)]
    if ai is not None:
        risks += _statement_lines(ai.risks[:limit], notes)
    if len(risks) == 1:
        risks.append("_" + _("No risks found.") + "_")
    blocks.append(section(clip("\n".join(risks), 3000)))

    if ai is not None:
        goals = ["*" + _("Buyer goals") + "*"] + (
            _statement_lines(ai.buyer_goals[:limit], notes) or ["_" + _("None stated.") + "_"]
        )
        blocks.append(section(clip("\n".join(goals), 3000)))
    footnotes = notes.block()
    if footnotes is not None:
        blocks.append(footnotes)
    if ai is not None and insight.model:
        blocks.append(
            context(
                _("Written by {model} from the activities cited.").format(
                    model=escape(insight.model)
                )
            )
        )
    if full:
        blocks.append(section("*" + _("Copy") + "*"))
        blocks.extend(_copyable(insight_text(insight)))
    elif insight.request_id is not None:
        blocks.extend(_answer_buttons(insight.request_id))
    return blocks


def _copyable(text: str) -> list[Block]:
    """The text in preformatted blocks a user can select and copy (Slack has no clipboard)."""
    chunks = [text[i : i + 2900] for i in range(0, len(text), 2900)] or [" "]
    return [
        {
            "type": "rich_text",
            "elements": [
                {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": c}]}
            ],
        }
        for c in chunks[:20]
    ]


def _answer_buttons(request_id: int) -> list[Block]:
    return actions(
        [
            button(_("Show more"), action_id=ids.INSIGHTS_SHOW_MORE, value=str(request_id)),
            button(
                _("Helpful"),
                action_id=f"{ids.INSIGHTS_FEEDBACK}:helpful",
                value=f"{request_id}:helpful",
            ),
            button(
                _("Not helpful"),
                action_id=f"{ids.INSIGHTS_FEEDBACK}:not_helpful",
                value=f"{request_id}:not_helpful",
            ),
        ]
    )


def insight_modal(insight: DealInsight, *, activity_url: ActivityUrl = _no_url) -> dict[str, Any]:
    """The "Show more" modal: the full insights and a copyable text."""
    blocks = insight_blocks(insight, full=True, activity_url=activity_url)
    return _insights_modal(blocks[: MAX_BLOCKS["modal"]])


def loading_modal() -> dict[str, Any]:
    """Opened at once (the trigger expires in about 3 s), then replaced by the full one."""
    return _insights_modal([section(_("Gathering the insights…"))])


def notice_modal(text: str) -> dict[str, Any]:
    return _insights_modal([section(escape(text))])


def _insights_modal(blocks: list[Block]) -> dict[str, Any]:
    return modal(ids.VIEW_INSIGHTS_FULL, _("Deal Insights"), blocks, close=_("Close"))


def deal_choice_blocks(search: DealSearch) -> list[Block]:
    """Several candidates: one button each. Nothing found: the same words for every case."""
    blocks: list[Block] = [section(escape(search_message(search)))]
    if search.candidates:
        blocks.extend(
            actions(
                [
                    button(c.name, action_id=f"{ids.DEAL_PICK}:{c.id}", value=str(c.id))
                    for c in search.candidates
                ]
            )
        )
    else:
        blocks.append(context(_("Try part of the deal's name, e.g. `/sales deal acme`.")))
    return blocks


def search_message(search: DealSearch) -> str:
    """``search.message()`` in the reader's language."""
    if search.deal is not None:
        return _("Found {deal}.").format(deal=search.deal.name)
    if len(search.candidates) == 1:
        return _("Did you mean {deal}?").format(deal=search.candidates[0].name)
    if search.candidates:
        return _("Several deals match “{query}”: which one?").format(query=search.query)
    return _("No deal you can see matches “{query}”.").format(query=search.query)


def follow_up_blocks(answer: FollowUpAnswer, *, activity_url: ActivityUrl = _no_url) -> list[Block]:
    """The answer to a question in an insight's thread."""
    notes = _Footnotes(answer.activities, activity_url)
    blocks: list[Block] = []
    if answer.notice:
        blocks.append(context(f":information_source: {escape(_(answer.notice))}"))
    if answer.statements:
        blocks.extend(sections("\n".join(_statement_lines(answer.statements, notes))))
    elif answer.notice is None:
        blocks.append(section(_("The activities you can see on this deal don't answer that.")))
    if answer.notice is not None:
        # No AI answer: the CRM view stands in.
        blocks.append(
            section(
                clip(
                    "\n".join(
                        [
                            "*" + _("Recent activity") + "*",
                            *_recent_lines(answer.recent, activity_url),
                        ]
                    ),
                    3000,
                )
            )
        )
        risk_lines = _risk_lines(answer.risks, notes) or ["_" + _("No risks found.") + "_"]
        blocks.append(section(clip("\n".join(["*" + _("Risks") + "*", *risk_lines]), 3000)))
    footnotes = notes.block()
    if footnotes is not None:
        blocks.append(footnotes)
    return blocks


def feedback_modal(*, request_id: int, helpful: bool) -> dict[str, Any]:
    """The short form after Helpful / Not helpful."""
    verdict = "helpful" if helpful else "not_helpful"
    prompt = _("What was useful?") if helpful else _("What was wrong or missing?")
    comment = {
        "type": "plain_text_input",
        "action_id": FEEDBACK_INPUT_ACTION,
        "multiline": True,
        "max_length": FEEDBACK_MAX_CHARS,
    }
    return modal(
        ids.VIEW_INSIGHTS_FEEDBACK,
        _("Feedback"),
        [
            section(
                _("Thanks! You found these insights *helpful*.")
                if helpful
                else _("Thanks! You found these insights *not helpful*.")
            ),
            input_block(FEEDBACK_INPUT_BLOCK, prompt, comment, optional=True),
        ],
        submit=_("Submit feedback"),
        private_metadata=f"{request_id}:{verdict}",
    )


def insight_fallback_text(insight: DealInsight) -> str:
    """The notification text of the answer message."""
    return clip(_("Deal Insights: {deal}").format(deal=escape(insight.deal.name)), 150)
