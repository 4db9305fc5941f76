"""``salesbot digest``: preview a digest in the terminal, or send digests now."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console, RenderableType
from rich.emoji import Emoji
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from slack_sdk import WebClient
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery import DEFAULT_RATE_PER_SECOND, Deliverer, Message, Nothing, Pacer
from bot.digests import DigestComposer, refresh_guided_actions
from bot.settings import Settings
from bot.terminal import TerminalContext
from handlers.render.digest import home_url
from rules.clock import local_date, user_zone
from rules.digest_schedule import DueDigest, zone_or_utc
from storage.deliveries import deliveries_on
from storage.models import DigestDelivery, DigestKind, Team, User

digest_app = typer.Typer(help="Daily digests: preview and send.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)
logger = logging.getLogger(__name__)


def _parse_at(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        err_console.print(f"[red]--at: not an ISO date-time: {value!r}[/red]")
        raise typer.Exit(2) from None
    if parsed.tzinfo is None:
        err_console.print("[red]--at needs a zone, e.g. 2026-03-11T08:00:00-08:00 or ...Z[/red]")
        raise typer.Exit(2)
    return parsed.astimezone(UTC)


def find_user(session: Session, key: str) -> User | None:
    """A user by email, CRM (owner) id or Slack id."""
    key = key.strip()
    return session.scalar(
        select(User).where(
            or_(
                func.lower(User.email) == key.lower(),
                User.external_id == key,
                User.slack_user_id == key,
            )
        )
    )


def _user_or_exit(session: Session, key: str) -> User:
    user = find_user(session, key)
    if user is None:
        err_console.print(f"[red]no user with email, CRM id or Slack id {key!r}[/red]")
        raise typer.Exit(1)
    return user


def _team_or_exit(session: Session, key: str) -> Team:
    team = session.scalar(
        select(Team).where(
            or_(Team.external_id == key, Team.name == key, Team.digest_channel_id == key)
        )
    )
    if team is None:
        err_console.print(f"[red]no team with id, name or channel {key!r}[/red]")
        raise typer.Exit(1)
    return team


def _due_now(*, kind: DigestKind, recipient_id: int, now: datetime, zone: ZoneInfo) -> DueDigest:
    return DueDigest(kind, recipient_id, local_date(zone, now), now, zone.key)


def _due_for_user(session: Session, user: User, now: datetime) -> DueDigest:
    # The user's zone as every view resolves it (rules.clock), so "today" agrees.
    return _due_now(
        kind=DigestKind.REP, recipient_id=user.id, now=now, zone=user_zone(session, user)
    )


def _due_for_team(session: Session, team: Team, now: datetime, default_zone: str) -> DueDigest:
    zone = zone_or_utc(team.timezone, default_zone)
    return _due_now(kind=DigestKind.MANAGER, recipient_id=team.id, now=now, zone=zone)


# Terminal rendering --------------------------------------------------------------------

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


def _print(outgoing: object, *, as_json: bool, title: str) -> None:
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
    from bot.digests import digest_sources

    return DigestComposer(sources=digest_sources(settings), home=home)


# Commands ------------------------------------------------------------------------------


@digest_app.command("preview")
def preview(
    user: str | None = typer.Option(None, "--user", help="Email, CRM owner id or Slack id."),
    team: str | None = typer.Option(
        None, "--team", help="A team (id, name or channel): its manager digest."
    ),
    at: str | None = typer.Option(
        None, "--at", help="As of this ISO date-time (with zone); default now."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the message as Block Kit JSON."),
) -> None:
    """Print the digest as it would be sent, without sending or recording anything."""
    from bot.cli import settings_or_exit, store_or_exit

    if (user is None) == (team is None):
        err_console.print("[red]give exactly one of --user or --team[/red]")
        raise typer.Exit(2)
    now = _parse_at(at)
    settings = settings_or_exit()
    store = store_or_exit(settings)
    composer = _composer(settings)
    with store.sessions() as session:
        if user is not None:
            found = _user_or_exit(session, user)
            due = _due_for_user(session, found, now)
            title = f"{found.name} · {due.local_date}"
        else:
            found_team = _team_or_exit(session, team or "")
            due = _due_for_team(session, found_team, now, settings.default_timezone)
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
        err_console.print(f"[red]{error} (or try --dry-run)[/red]")
        raise typer.Exit(2) from None


def slack_home_url(client: WebClient) -> str | None:
    """The Home tab link for this workspace and app, or None if Slack will not say."""
    try:
        auth = client.auth_test()
        app_id = auth.get("app_id")
        if not app_id and auth.get("bot_id"):
            bot: dict[str, Any] = client.bots_info(bot=auth["bot_id"]).get("bot") or {}
            app_id = bot.get("app_id")
        return home_url(auth.get("team_id"), app_id)
    except Exception:  # a missing link is cosmetic: log it, never stop the digests
        logger.warning("could not work out the Home tab link", exc_info=True)
        return None


def claimer_name() -> str:
    """How this process signs its claims: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@digest_app.command("send")
def send(
    user: str | None = typer.Option(None, "--user", help="Email, CRM owner id or Slack id."),
    send_all: bool = typer.Option(
        False, "--all", help="Every active user with a Slack id, and every team channel."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Compose and list; send and record nothing."
    ),
    rate: float = typer.Option(
        DEFAULT_RATE_PER_SECOND, "--rate", min=0.1, help="Messages per second."
    ),
) -> None:
    """Send today's digest now (each recipient's own today), once: a digest already sent
    today is not sent again."""
    from bot.cli import settings_or_exit, store_or_exit

    if (user is None) == (not send_all):
        err_console.print("[red]give exactly one of --user or --all[/red]")
        raise typer.Exit(2)
    settings = settings_or_exit()
    store = store_or_exit(settings)
    now = datetime.now(UTC)
    with store.sessions() as session:
        if user is not None:
            due = [_due_for_user(session, _user_or_exit(session, user), now)]
        else:
            reps = session.scalars(
                select(User)
                .where(User.is_active.is_(True), User.slack_user_id.is_not(None))
                .order_by(User.id)
            ).all()
            teams = session.scalars(
                select(Team).where(Team.digest_channel_id.is_not(None)).order_by(Team.id)
            ).all()
            due = [_due_for_user(session, u, now) for u in reps]
            due += [_due_for_team(session, t, now, settings.default_timezone) for t in teams]
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
        pacer=Pacer(rate),
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
    """List the digest deliveries recorded for a local date: sent, skipped, failed, claimed."""
    from bot.cli import settings_or_exit, store_or_exit

    try:
        wanted = date.fromisoformat(day) if day else datetime.now(UTC).date()
    except ValueError:
        err_console.print(f"[red]--date: not a date (YYYY-MM-DD): {day!r}[/red]")
        raise typer.Exit(2) from None
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


def digest_section(context: TerminalContext) -> RenderableType | None:
    """The ``salesbot demo`` section: the shown user's digest as it would arrive this morning.

    A ``bot.terminal`` section (add it to ``DEMO_SECTIONS``); None when nothing would be sent.
    """
    due = _due_for_user(context.session, context.user, context.now)
    outgoing = DigestComposer()(context.session, due, context.now)
    if not isinstance(outgoing, Message):
        return None
    title = f"Daily digest (Slack DM): {context.user.name} · {due.local_date:%a %d %b}"
    return Panel(blocks_as_text(outgoing.blocks), title=title, expand=False)
