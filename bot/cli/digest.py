"""``salesbot digest``: preview a digest in the terminal, or send digests now."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.common import (
    USER_HELP,
    console,
    err_console,
    fail,
    parse_at,
    settings_or_exit,
    store_or_exit,
    user_or_exit,
)

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from sqlalchemy.orm import Session, sessionmaker

    from bot.digests.compose import DigestComposer
    from bot.settings import Settings
    from storage.models import DigestDelivery, Team

digest_app = typer.Typer(help="Daily digests: preview and send.", no_args_is_help=True)


def _team_or_exit(session: Session, key: str) -> Team:
    from sqlalchemy import or_, select

    from storage.models import Team

    team = session.scalar(
        select(Team).where(
            or_(Team.external_id == key, Team.name == key, Team.digest_channel_id == key)
        )
    )
    if team is None:
        fail(f"no team with id, name or channel {key!r}")
    return team


def _print(outgoing: object, *, as_json: bool, title: str) -> None:
    from rich.panel import Panel

    from bot.digests.deliver import Message
    from bot.terminal.digest import blocks_as_text

    if isinstance(outgoing, Message):
        if as_json:
            typer.echo(
                json.dumps(
                    {"channel": outgoing.channel, "text": outgoing.text, "blocks": outgoing.blocks},
                    indent=2,
                )
            )
        else:
            console.print(Panel(blocks_as_text(outgoing.blocks), title=title, expand=False))
        return
    reason = getattr(outgoing, "reason", "nothing to send")
    if as_json:
        typer.echo(json.dumps({"channel": None, "skipped": reason}))
    else:
        console.print(f"[yellow]{title}: nothing would be sent ({reason})[/yellow]")


def _composer(settings: Settings, home: str | None = None) -> DigestComposer:
    from bot.digests.compose import DigestComposer, digest_sources

    return DigestComposer(
        sources=digest_sources(settings), home=home, default_language=settings.default_language
    )


# Commands ------------------------------------------------------------------------------


@digest_app.command("preview")
def preview(
    user: str | None = typer.Option(None, "--user", help=USER_HELP),
    team: str | None = typer.Option(
        None, "--team", help="A team (id, name or channel): its manager digest."
    ),
    at: str | None = typer.Option(
        None, "--at", help="As of this ISO date-time (with zone); default now."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the message as Block Kit JSON."),
) -> None:
    """Print the digest as it would be sent, without sending or recording anything."""
    from bot.digests.schedule import due_now_for_team, due_now_for_user

    if (user is None) == (team is None):
        fail("give exactly one of --user or --team")
    now = parse_at(at)
    settings = settings_or_exit()
    store = store_or_exit(settings)
    composer = _composer(settings)
    with store.sessions() as session:
        if user is not None:
            found = user_or_exit(session, user)
            due = due_now_for_user(session, found, now)
            title = f"{found.name} · {due.local_date}"
        else:
            found_team = _team_or_exit(session, team or "")
            due = due_now_for_team(found_team, now, settings.default_timezone)
            title = f"{found_team.name} · {due.local_date}"
        outgoing = composer(session, due, now)
    _print(outgoing, as_json=as_json, title=title)


def _web_client(settings: Settings, sessions: sessionmaker[Session]) -> WebClient:
    """The app's own Web API client (429-aware), pointed at ``SLACK_API_URL``."""
    from bot.app import ConfigurationError, create_web_client
    from handlers.slack.services import Services

    services = Services(sessions=sessions, settings=settings)
    try:
        return create_web_client(services)
    except ConfigurationError as error:
        fail(f"{error} (or try --dry-run)")


@digest_app.command("send")
def send(
    user: str | None = typer.Option(None, "--user", help=USER_HELP),
    send_all: bool = typer.Option(
        False, "--all", help="Every active user with a Slack id, and every team channel."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Compose and list; send and record nothing."
    ),
    rate: float | None = typer.Option(
        None, "--rate", min=0.1, help="Messages per second (default: the scheduler's pace)."
    ),
) -> None:
    """Send today's digest now (each recipient's own today), once: a digest already sent
    today is not sent again."""
    from sqlalchemy import select

    from bot.digests.compose import slack_home_url
    from bot.digests.deliver import (
        DEFAULT_RATE_PER_SECOND,
        Deliverer,
        Message,
        Nothing,
        SharedPacer,
        claimer_name,
    )
    from bot.digests.schedule import due_now_for_team, due_now_for_user, refresh_guided_actions
    from storage.models import DigestKind, Team, User

    if (user is None) == (not send_all):
        fail("give exactly one of --user or --all")
    settings = settings_or_exit()
    store = store_or_exit(settings)
    now = datetime.now(UTC)
    with store.sessions() as session:
        if user is not None:
            due = [due_now_for_user(session, user_or_exit(session, user), now)]
        else:
            reps = session.scalars(
                select(User)
                .where(User.is_active.is_(True), User.slack_user_id.is_not(None))
                .order_by(User.id)
            ).all()
            teams = session.scalars(
                select(Team).where(Team.digest_channel_id.is_not(None)).order_by(Team.id)
            ).all()
            due = [due_now_for_user(session, u, now) for u in reps]
            due += [due_now_for_team(t, now, settings.default_timezone) for t in teams]
        if dry_run:
            composer = _composer(settings)
            for item in due:
                outgoing = composer(session, item, now)
                if isinstance(outgoing, Message):
                    console.print(
                        f"would send {item.kind} digest to {outgoing.channel}: {outgoing.text}"
                    )
                elif isinstance(outgoing, Nothing):
                    console.print(f"would skip {item.kind} {item.recipient_id}: {outgoing.reason}")
                else:
                    reason = outgoing.reason
                    console.print(
                        f"[yellow]cannot send {item.kind} {item.recipient_id}: {reason}[/yellow]"
                    )
            return
        # As the scheduler does: guided actions up to date before the digests that list them.
        reps_due = [d.recipient_id for d in due if d.kind is DigestKind.REP]
        if reps_due:
            refresh_guided_actions(session, now, reps_due)
            session.commit()
    client = _web_client(settings, store.sessions)
    deliverer = Deliverer(
        sessions=store.sessions,
        client=client,
        compose=_composer(settings, slack_home_url(client)),
        claimer=claimer_name(),
        clock=lambda: datetime.now(UTC),
        pacer=SharedPacer(store.sessions, rate or DEFAULT_RATE_PER_SECOND),
    )
    report = deliverer.deliver(due)
    for item, reason in report.failed:
        err_console.print(f"[red]{item.kind} {item.recipient_id}: {reason}[/red]")
    console.print(report.summary())
    if report.failed:
        raise typer.Exit(1)


@digest_app.command("status")
def status(
    day: str | None = typer.Option(
        None, "--date", help="Local date YYYY-MM-DD; default today UTC."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the deliveries as JSON."),
) -> None:
    """List the digest deliveries recorded for a local date: sent, skipped, failed, missed."""
    from rich.table import Table

    from storage.deliveries import deliveries_on

    try:
        wanted = date.fromisoformat(day) if day else datetime.now(UTC).date()
    except ValueError:
        fail(f"--date: not a date (YYYY-MM-DD): {day!r}")
    store = store_or_exit(settings_or_exit())
    with store.sessions() as session:
        rows = deliveries_on(session, wanted)
    if as_json:
        typer.echo(json.dumps([delivery_json(row) for row in rows], indent=2))
        return
    table = Table(title=f"Digest deliveries for {wanted.isoformat()}")
    for column in ("kind", "recipient", "status", "attempts", "channel", "ts", "error"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.kind),
            str(row.recipient_id),
            str(row.status),
            str(row.attempts),
            row.channel_id or "",
            row.message_ts or "",
            (row.error or "") + (" (permanent)" if row.permanent else ""),
        )
    console.print(table)


def delivery_json(row: DigestDelivery) -> dict[str, Any]:
    """One delivery as ``digest status --json`` prints it."""
    return {
        "kind": str(row.kind),
        "recipient_id": row.recipient_id,
        "local_date": row.local_date.isoformat(),
        "status": str(row.status),
        "attempts": row.attempts,
        "due_at": row.due_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "channel_id": row.channel_id,
        "message_ts": row.message_ts,
        "error": row.error,
        "permanent": row.permanent,
        "claimed_by": row.claimed_by,
    }
