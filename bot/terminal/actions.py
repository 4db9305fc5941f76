"""Guided actions in a terminal: grouped tables for ``salesbot actions`` and the demo, and
the verdict of ``salesbot actions --explain``.

Light at import (the domain loads in :func:`show_guided_actions` only): ``salesbot actions``
imports this module for its time format.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from rules.guided_actions import ActionView, Explanation

# Keyed by ``rules.guided_actions.Category`` values (``ActionView.category`` holds the value).
CATEGORY_HEADINGS = {
    "closing": "Closing-related",
    "prospecting": "Prospecting-related",
    "all": "Other actions",
}


def iso_utc(value: datetime | None) -> str | None:
    """A time as ``salesbot actions`` prints it, in text and JSON: ISO in UTC with a ``Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def show_guided_actions(console: Console, session: Session, *, user_id: int, now: datetime) -> None:
    """Evaluate the rules for one user as of ``now``, commit, and print their actions."""
    from rules.guided_actions import evaluate, open_actions

    evaluate(session, now=now, user_ids=[user_id])
    session.commit()
    console.rule("Guided actions")
    render_actions_for_terminal(console, open_actions(session, user_id=user_id, now=now))


def render_actions_for_terminal(console: Console, actions: list[ActionView]) -> None:
    """Print actions grouped by category (closing, prospecting, other), in ranked order."""
    if not actions:
        console.print("[green]No guided actions right now.[/green]")
        return
    for category, heading in CATEGORY_HEADINGS.items():
        group = [a for a in actions if a.category == category]
        if not group:
            continue
        table = Table(title=heading, title_justify="left", show_lines=False, expand=False)
        table.add_column("#", justify="right", style="dim")
        table.add_column("Action")
        table.add_column("Items / linked records")
        table.add_column("Created", style="dim")
        for view in group:
            lines = []
            for item in view.items:
                links = [
                    r.label for r in (item.contact, item.company) if r and r.label != item.label
                ]
                suffix = f" [dim]({escape(', '.join(links))})[/dim]" if links else ""
                lines.append(f"• {escape(item.label)}{suffix}")
            title = f"[bold]{escape(view.title)}[/bold]\n[cyan]{escape(view.call_to_action)}[/cyan]"
            if view.sunk:
                title += " [dim](you said this is not useful)[/dim]"
            table.add_row(
                str(view.number),
                title,
                "\n".join(lines),
                view.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            )
        console.print(table)


def render_explanation(
    console: Console, verdict: Explanation, *, hubspot: Sequence[str] = ()
) -> None:
    """Why an action exists or not: each criterion and expiry condition, then the verdict;
    ``hubspot``: where the rule reads a field HubSpot has no equivalent of."""
    rule = verdict.rule
    console.print(
        f"[bold]{rule.number}. {rule.type.value}[/bold] for {rule.subject.value} "
        f"{verdict.object_id} (user {verdict.user_id}) as of {iso_utc(verdict.now)}"
    )
    console.print("Created when ALL hold:")
    for check in verdict.criteria:
        mark = "[green]✓[/green]" if check.holds else "[red]✗[/red]"
        console.print(f"  {mark} {escape(check.text)} [dim]({check.key})[/dim]")
    console.print("Expires when ANY holds:")
    for check in verdict.expiry:
        mark = "[red]● holds[/red]" if check.holds else "[dim]○[/dim]"
        console.print(f"  {mark} {escape(check.text)} [dim]({check.key})[/dim]")
    console.print(f"Episode: {escape(verdict.episode)}")
    for prior in verdict.prior:
        console.print(
            f"  earlier item {prior.item_id}: {prior.state.value}, episode {escape(prior.episode)}"
            + (f", {escape(prior.closed_reason)}" if prior.closed_reason else "")
        )
    open_item = next((p for p in verdict.prior if p.state.value == "open"), None)
    if open_item is not None:
        console.print(
            f"[green]Verdict: open (item {open_item.item_id}, created "
            f"{iso_utc(open_item.created_at)}); it ends when an expiry condition holds.[/green]"
        )
    elif verdict.would_create:
        console.print("[green]Verdict: an action would be created now.[/green]")
    elif verdict.blocked_by:
        console.print(f"[yellow]Verdict: not created: {escape(verdict.blocked_by)}.[/yellow]")
    else:
        console.print("[yellow]Verdict: not created.[/yellow]")
    if hubspot:
        console.print("With HubSpot's data (docs/hubspot.md):")
        for sentence in hubspot:
            console.print(f"  - {escape(sentence)}")
