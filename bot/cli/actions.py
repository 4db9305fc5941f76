"""``salesbot actions``: run the guided-action rules as of a time and show or explain them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from bot.cli.common import USER_HELP, console, fail, parse_at, store_or_exit, user_or_exit
from bot.terminal.actions import iso_utc

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from rules.guided_actions import ActionView, Explanation, LinkedRecord
    from storage.models import User

JSON_VERSION = 1


def register(app: typer.Typer) -> None:
    """Add ``salesbot actions`` to the CLI."""
    app.command("actions")(actions_command)


def actions_command(
    user: str | None = typer.Option(None, "--user", help=USER_HELP),
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
    from bot.terminal.actions import render_actions_for_terminal, render_explanation
    from rules.guided_actions import Category, evaluate, open_actions

    when = parse_at(at)
    if category not in {c.value for c in Category}:
        fail("--category must be closing, prospecting or all")
    if explain_type is None and user is None:
        fail("give --user EMAIL_OR_ID, or --explain TYPE --object ID")
    if explain_type is not None and object_id is None:
        fail("--explain needs --object ID")

    store = store_or_exit()
    with store.sessions() as session:
        if explain_type is not None:
            assert object_id is not None
            who = user_or_exit(session, user) if user is not None else None
            verdict = _explain(session, explain_type, object_id, when, who)
            notes = hubspot_notes(session, verdict.rule.number)
            if as_json:
                payload = explanation_json(verdict, hubspot=notes)
                typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
            else:
                render_explanation(console, verdict, hubspot=notes)
            return
        assert user is not None
        who = user_or_exit(session, user)
        report = evaluate(session, now=when, user_ids=[who.id])
        session.commit()
        views = open_actions(session, user_id=who.id, now=when, category=category)
    if as_json:
        payload = {
            "version": JSON_VERSION,
            "user": {"id": who.id, "email": who.email, "name": who.name},
            "at": iso_utc(when),
            "category": category,
            "evaluation": {"created": report.created, "expired": report.expired},
            "actions": [action_json(v) for v in views],
        }
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    console.print(
        f"[bold]{escape(who.name)}[/bold] <{escape(who.email)}> as of {iso_utc(when)}: "
        f"{len(views)} open action(s); this run created {report.created} and expired "
        f"{report.expired} item(s)"
    )
    render_actions_for_terminal(console, views)


def _explain(
    session: Session, type_name: str, object_text: str, when: datetime, who: User | None
) -> Explanation:
    from rules.guided_actions import RecordNotFound, explain, rule_for
    from rules.guided_actions.explain import resolve_object_id

    try:
        rule = rule_for(type_name)
    except KeyError as error:
        fail(f"{error.args[0]} (see docs/guided-actions.md)")
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
        fail(str(error))


def hubspot_notes(session: Session, rule_number: int) -> tuple[str, ...]:
    """Where the rule reads a field HubSpot has no equivalent of, when HubSpot fills the
    store (one sentence each, from the connector's table; docs/hubspot.md)."""
    from connectors.hubspot.gaps import gaps_for, is_synced

    if not is_synced(session):
        return ()
    return tuple(gap.sentence for gap in gaps_for(rule_number))


# --- JSON --------------------------------------------------------------------------------------


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
        "created_at": iso_utc(view.created_at),
        "expires_at": iso_utc(view.expires_at),
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
                "created_at": iso_utc(item.created_at),
                "expires_at": iso_utc(item.expires_at),
            }
            for item in view.items
        ],
    }


def explanation_json(verdict: Explanation, *, hubspot: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "type": verdict.rule.type.value,
        "number": verdict.rule.number,
        "object": {"type": verdict.rule.subject.value, "id": verdict.object_id},
        "user_id": verdict.user_id,
        "at": iso_utc(verdict.now),
        "criteria": [{"key": c.key, "text": c.text, "holds": c.holds} for c in verdict.criteria],
        "expiry": [{"key": c.key, "text": c.text, "holds": c.holds} for c in verdict.expiry],
        "episode": verdict.episode,
        "prior": [
            {
                "item_id": p.item_id,
                "action_id": p.action_id,
                "state": p.state.value,
                "episode": p.episode,
                "created_at": iso_utc(p.created_at),
                "closed_at": iso_utc(p.closed_at),
                "closed_reason": p.closed_reason,
            }
            for p in verdict.prior
        ],
        "would_create": verdict.would_create,
        "blocked_by": verdict.blocked_by,
        "hubspot": list(hubspot),
    }
