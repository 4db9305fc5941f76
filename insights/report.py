"""Deal Insights as JSON (``salesbot insights --json``) and as a terminal rendering (demo).

Both are pure: a ``DealInsight`` in, data or a rich renderable out.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from insights.answer import CitedStatement
from insights.service import DealInsight

JSON_VERSION = 1


def insight_to_json(insight: DealInsight) -> dict[str, Any]:
    """The JSON document printed by ``salesbot insights --json`` (see docs/insights.md)."""
    deal = insight.deal
    ai = insight.ai
    return {
        "version": JSON_VERSION,
        "request_id": insight.request_id,
        "generated_at": insight.generated_at.isoformat(),
        "deal": {
            "id": deal.id,
            "external_id": deal.external_id,
            "name": deal.name,
            "owner": deal.owner_name,
            "pipeline": deal.pipeline,
            "stage": deal.stage,
            "stage_state": deal.stage_state.value,
            "amount": str(deal.amount) if deal.amount is not None else None,
            "currency": deal.currency,
            "close_date": deal.close_date.isoformat() if deal.close_date else None,
            "company": deal.company,
            "contacts": list(deal.contacts),
        },
        "ai": {
            "status": insight.ai_status.value,
            "model": insight.model,
            "notice": insight.notice,
        },
        "recent_activities": [
            {
                "id": a.id,
                "kind": a.kind.value,
                "occurred_at": a.occurred_at.isoformat(),
                "title": a.title,
                "owner": a.owner_name,
            }
            for a in insight.recent
        ],
        "crm_risks": [
            {
                "kind": r.kind.value,
                "text": r.text,
                "activity_id": r.activity_id,
                "field": r.field,
            }
            for r in insight.risks
        ],
        "ai_sections": ai.to_json() if ai is not None else None,
        "evidence_ids": list(insight.evidence_ids),
    }


def insight_text(insight: DealInsight) -> str:
    """The full insights as plain text (Slack's copyable block, e-mail, logs)."""
    deal = insight.deal
    lines = [f"Deal Insights: {deal.name}"]
    if insight.notice:
        lines.append(insight.notice)

    def cited(statements: tuple[CitedStatement, ...]) -> list[str]:
        return [f"- {s.text} [{', '.join(f'#{i}' for i in s.activity_ids)}]" for s in statements]

    lines += ["", "Recent activity"]
    if insight.ai is not None:
        lines += cited(insight.ai.recent_activity)
    lines += [
        f"- {a.occurred_at.date().isoformat()} {a.kind.value}: {a.title} [#{a.id}]"
        for a in insight.recent
    ]
    lines += ["", "Risks"]
    lines += [
        f"- {r.text}" + (f" [#{r.activity_id}]" if r.activity_id else "") for r in insight.risks
    ]
    if insight.ai is not None:
        lines += cited(insight.ai.risks)
        lines += ["", "Buyer goals", *cited(insight.ai.buyer_goals)]
    return "\n".join(lines)


def _deal_heading(insight: DealInsight) -> Text:
    """The deal's name, then its stage, amount, close date and owner, dimmed."""
    deal = insight.deal
    head = Text(deal.name, style="bold")
    facts = [deal.stage]
    if deal.amount is not None:
        facts.append(f"{deal.amount:,.0f} {deal.currency}")
    if deal.close_date:
        facts.append(f"closes {deal.close_date.isoformat()}")
    if deal.owner_name:
        facts.append(f"owner {deal.owner_name}")
    head.append("  " + " · ".join(facts), style="dim")
    return head


def render_insight(insight: DealInsight) -> RenderableType:
    """Deal Insights for a terminal: the three sections, cited activity ids in brackets."""
    parts: list[RenderableType] = [_deal_heading(insight)]
    if insight.notice:
        parts.append(Text(insight.notice, style="yellow"))

    parts.append(Text("\nRecent activity", style="bold cyan"))
    if insight.ai is not None:
        parts.extend(_statements(insight.ai.recent_activity))
    table = Table(show_header=False, box=None, padding=(0, 1))
    for activity in insight.recent:
        table.add_row(
            f"#{activity.id}",
            activity.occurred_at.strftime("%Y-%m-%d"),
            activity.kind.value,
            activity.title,
        )
    parts.append(Padding(table, (0, 0, 0, 2)) if insight.recent else _none("no activity"))

    parts.append(Text("\nRisks", style="bold cyan"))
    for risk in insight.risks:
        source = f"#{risk.activity_id}" if risk.activity_id else risk.field or ""
        parts.append(Text(f"  • {risk.text}  [{source}]"))
    if insight.ai is not None:
        parts.extend(_statements(insight.ai.risks))
    if not insight.risks and not (insight.ai and insight.ai.risks):
        parts.append(_none("no risks found"))

    if insight.ai is not None:
        parts.append(Text("\nBuyer goals", style="bold cyan"))
        parts.extend(_statements(insight.ai.buyer_goals) or [_none("none stated")])
        parts.append(Text(f"\nWritten by {insight.model} from the activities cited.", "dim"))
    return Group(*parts)


def _statements(statements: tuple[CitedStatement, ...]) -> list[RenderableType]:
    return [
        Text(f"  • {s.text}  [{', '.join(f'#{i}' for i in s.activity_ids)}]") for s in statements
    ]


def _none(what: str) -> Text:
    return Text(f"  ({what})", style="dim")
