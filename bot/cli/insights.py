"""``salesbot insights``: what one user would see about one deal."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer

from bot.cli.common import (
    USER_HELP,
    console,
    err_console,
    settings_or_exit,
    store_or_exit,
    user_or_exit,
)


def register(app: typer.Typer) -> None:
    """Add the ``insights`` command to the CLI."""
    app.command("insights")(insights_command)


def insights_command(
    deal: str = typer.Option(..., "--deal", help="Deal id, external id, or (part of) its name."),
    as_user: str = typer.Option(..., "--as", help=f"The user whose view to show. {USER_HELP}"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (see docs/insights.md)."),
) -> None:
    """Print the Deal Insights USER would see for DEAL (their permissions, the configured model)."""
    # The model client and the insights domain load here only (openai is slow to import).
    from bot.terminal.insights import insight_writer
    from insights.finder import find_deal
    from insights.report import insight_to_json, render_insight
    from insights.service import DealNotVisible, deal_insight

    settings = settings_or_exit()
    store = store_or_exit(settings)
    writer = insight_writer(settings)
    now = datetime.now(UTC)
    with store.sessions() as session:
        viewer = user_or_exit(session, as_user)
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
        console.print(render_insight(insight))
