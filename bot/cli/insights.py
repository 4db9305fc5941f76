"""``salesbot insights``: what one user would see about one deal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console, RenderableType
from rich.panel import Panel
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.settings import Settings, SettingsError, load_settings
from insights.finder import find_deal
from insights.llm import InsightWriter, writer_for
from insights.report import insight_to_json, render_insight
from insights.service import DealNotVisible, deal_insight
from storage.models import User

if TYPE_CHECKING:
    from bot.terminal import TerminalContext


def insight_writer(settings: Settings) -> InsightWriter | None:
    """The configured model, or None when no key is set (CRM-only view)."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return writer_for(
        key,
        model=settings.llm_model,
        base_url=settings.openai_base_url,
        timeout_seconds=settings.llm_timeout_seconds,
    )


def find_user(session: Session, who: str) -> User | None:
    """A user by id, email, external (owner) id, Slack id or exact name (case-insensitive)."""
    who = who.strip()
    conditions = [
        func.lower(User.email) == who.lower(),
        User.external_id == who,
        User.slack_user_id == who,
        func.lower(User.name) == who.lower(),
    ]
    if who.isdigit():
        conditions.append(User.id == int(who))
    users = session.scalars(select(User).where(or_(*conditions)).limit(2)).all()
    return users[0] if len(users) == 1 else None


def register(app: typer.Typer) -> None:
    """Add the ``insights`` command to the CLI."""
    app.command("insights")(insights_command)


def insights_command(
    deal: str = typer.Option(..., "--deal", help="Deal id, external id, or (part of) its name."),
    as_user: str = typer.Option(
        ..., "--as", help="The user whose view to show: id, email, owner id, Slack id or name."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (see docs/insights.md)."),
) -> None:
    """Print the Deal Insights USER would see for DEAL (their permissions, the configured model)."""
    from bot.cli import err_console, settings_or_exit, store_or_exit

    settings = settings_or_exit()
    store = store_or_exit(settings)
    writer = insight_writer(settings)
    now = datetime.now(UTC)
    with store.sessions() as session:
        viewer = find_user(session, as_user)
        if viewer is None:
            err_console.print(f"[red]no single user matches {as_user!r}[/red]")
            raise typer.Exit(2)
        search = find_deal(session, viewer=viewer, query=deal)
        if search.deal is None:
            err_console.print(search.message())
            for choice in search.candidates:
                err_console.print(f"  {choice.id}  {choice.name}")
            raise typer.Exit(1)
        try:
            insight = deal_insight(
                session, deal_id=search.deal.id, viewer=viewer, now=now, writer=writer
            )
        except DealNotVisible:
            err_console.print(f"No deal you can see matches {deal!r}.")
            raise typer.Exit(1) from None
        session.commit()
    if as_json:
        typer.echo(json.dumps(insight_to_json(insight), indent=2, ensure_ascii=False))
    else:
        Console().print(render_insight(insight))


def deal_insights_section(context: TerminalContext) -> RenderableType | None:
    """``salesbot demo``: the featured deal's insights as the demo rep sees them.

    Uses the configured model when there is one; without a key it is the CRM view, whose
    notice says how to switch AI on. Nothing is committed (the demo's session is not).
    """
    if context.org is None:
        return None  # only the demo names a featured deal
    try:
        writer = insight_writer(load_settings())
    except SettingsError:
        writer = None
    try:
        insight = deal_insight(
            context.session,
            deal_id=context.org.featured_deal_id,
            viewer=context.user,
            now=context.now,
            writer=writer,
            source="demo",
        )
    except DealNotVisible:
        return None
    return Panel(render_insight(insight), title="Deal Insights", title_align="left")
