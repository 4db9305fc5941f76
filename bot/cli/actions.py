"""``salesbot actions``: run the guided-action rules as of a time and show or explain them.

Also the terminal rendering the demo uses (:func:`render_actions_for_terminal`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules.actions import (
    ActionView,
    Category,
    Explanation,
    LinkedRecord,
    RecordNotFound,
    evaluate,
    explain,
    open_actions,
    rule_for,
)
from rules.actions.explain import resolve_object_id
from storage.models import User

JSON_VERSION = 1
CATEGORY_HEADINGS = {
    Category.CLOSING.value: "Closing-related",
    Category.PROSPECTING.value: "Prospecting-related",
    Category.ALL.value: "Other actions",
}


class CommandError(Exception):
    """Bad input on the command line: a message for the user, exit code 2."""


def register(app: typer.Typer) -> None:
    """Add ``salesbot actions`` to the CLI."""
    app.command("actions")(actions_command)


def actions_command(
    user: str | None = typer.Option(None, "--user", help="The user's email, id or owner id."),
    at: str | None = typer.Option(
        None, "--at", help="Evaluate as of this ISO time with a zone (default: now)."
    ),
    category: str = typer.Option(
        "all", "--category", help="closing, prospecting or all (default)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    explain_type: str | None = typer.Option(
        None, "--explain", help="Explain this action type (name or number) for --object."
    ),
    object_id: str | None = typer.Option(
        None, "--object", help="With --explain: the record's id or CRM id."
    ),
) -> None:
    """Run the guided-action rules and list a user's open actions, or explain one rule."""
    from bot.cli import err_console, store_or_exit

    try:
        when = parse_time(at)
        if category not in {c.value for c in Category}:
            raise CommandError("--category must be closing, prospecting or all")
        if explain_type is None and user is None:
            raise CommandError("give --user EMAIL_OR_ID, or --explain TYPE --object ID")
        if explain_type is not None and object_id is None:
            raise CommandError("--explain needs --object ID")
    except CommandError as error:
        err_console.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(2) from None

    store = store_or_exit()
    console = Console()
    with store.sessions() as session:
        try:
            if explain_type is not None:
                assert object_id is not None
                who = find_user(session, user) if user is not None else None
                verdict = _explain(session, explain_type, object_id, when, who)
                if as_json:
                    typer.echo(json.dumps(explanation_json(verdict), indent=2, ensure_ascii=False))
                else:
                    render_explanation(console, verdict)
                return
            assert user is not None
            who = find_user(session, user)
            report = evaluate(session, now=when, user_ids=[who.id])
            session.commit()
            views = open_actions(session, user_id=who.id, now=when, category=category)
        except CommandError as error:
            err_console.print(f"[red]{escape(str(error))}[/red]")
            raise typer.Exit(2) from None
    if as_json:
        payload = {
            "version": JSON_VERSION,
            "user": {"id": who.id, "email": who.email, "name": who.name},
            "at": _iso(when),
            "category": category,
            "evaluation": {"created": report.created, "expired": report.expired},
            "actions": [action_json(v) for v in views],
        }
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    console.print(
        f"[bold]{escape(who.name)}[/bold] <{escape(who.email)}> as of {_iso(when)}: "
        f"{len(views)} open action(s); this run created {report.created} and expired "
        f"{report.expired} item(s)"
    )
    render_actions_for_terminal(console, views)


def _explain(
    session: Session, type_name: str, object_text: str, when: datetime, who: User | None
) -> Explanation:
    try:
        rule = rule_for(type_name)
    except KeyError as error:
        raise CommandError(f"{error.args[0]} (see docs/guided-actions.md)") from None
    try:
        object_id = resolve_object_id(session, rule, object_text)
        return explain(
            session,
            action_type=rule.type,
            object_id=object_id,
            now=when,
            user_id=who.id if who else None,
        )
    except RecordNotFound as error:
        raise CommandError(str(error)) from None


def parse_time(text: str | None) -> datetime:
    """An ISO time with a zone (``2026-03-11T15:30Z``); None means now."""
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--at {text!r} is not an ISO time (e.g. 2026-03-11T15:30Z)") from None
    if value.tzinfo is None:
        raise CommandError(f"--at {text!r} has no time zone: add Z or an offset like +01:00")
    return value.astimezone(UTC)


def find_user(session: Session, text: str) -> User:
    """A user by email (any case), id, or CRM owner id."""
    query = select(User).where(
        (func.lower(User.email) == text.strip().lower()) | (User.external_id == text.strip())
    )
    found = session.scalar(query)
    if found is None and text.strip().isdigit():
        found = session.get(User, int(text))
    if found is None:
        raise CommandError(f"no user {text!r}")
    return found


# --- JSON --------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _record(record: LinkedRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "type": record.type,
        "id": record.id,
        "external_id": record.external_id,
        "label": record.label,
    }


def action_json(view: ActionView) -> dict[str, Any]:
    """One action in the stable JSON shape documented in docs/guided-actions.md."""
    return {
        "id": view.id,
        "type": view.type.value,
        "number": view.number,
        "category": view.category,
        "title": view.title,
        "call_to_action": view.call_to_action,
        "bundled": view.bundled,
        "created_at": _iso(view.created_at),
        "expires_at": _iso(view.expires_at),
        "sunk": view.sunk,
        "contact": _record(view.contact),
        "company": _record(view.company),
        "items": [
            {
                "id": item.id,
                "label": item.label,
                "object": _record(item.object),
                "contact": _record(item.contact),
                "company": _record(item.company),
                "created_at": _iso(item.created_at),
                "expires_at": _iso(item.expires_at),
            }
            for item in view.items
        ],
    }


def explanation_json(verdict: Explanation) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "type": verdict.rule.type.value,
        "number": verdict.rule.number,
        "object": {"type": verdict.rule.subject.value, "id": verdict.object_id},
        "user_id": verdict.user_id,
        "at": _iso(verdict.now),
        "criteria": [{"key": c.key, "text": c.text, "holds": c.holds} for c in verdict.criteria],
        "expiry": [{"key": c.key, "text": c.text, "holds": c.holds} for c in verdict.expiry],
        "episode": verdict.episode,
        "prior": [
            {
                "item_id": p.item_id,
                "action_id": p.action_id,
                "state": p.state.value,
                "episode": p.episode,
                "created_at": _iso(p.created_at),
                "closed_at": _iso(p.closed_at),
                "closed_reason": p.closed_reason,
            }
            for p in verdict.prior
        ],
        "would_create": verdict.would_create,
        "blocked_by": verdict.blocked_by,
    }


# --- terminal ----------------------------------------------------------------------------------


def show_guided_actions(console: Console, session: Session, *, user_id: int, now: datetime) -> None:
    """Evaluate the rules for one user as of ``now``, commit, and print their actions."""
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


def render_explanation(console: Console, verdict: Explanation) -> None:
    rule = verdict.rule
    console.print(
        f"[bold]{rule.number}. {rule.type.value}[/bold] for {rule.subject.value} "
        f"{verdict.object_id} (user {verdict.user_id}) as of {_iso(verdict.now)}"
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
            f"{_iso(open_item.created_at)}); it ends when an expiry condition holds.[/green]"
        )
    elif verdict.would_create:
        console.print("[green]Verdict: an action would be created now.[/green]")
    elif verdict.blocked_by:
        console.print(f"[yellow]Verdict: not created: {escape(verdict.blocked_by)}.[/yellow]")
    else:
        console.print("[yellow]Verdict: not created.[/yellow]")
