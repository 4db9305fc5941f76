"""``salesbot demo``: build the demo organisation into its own SQLite file and show a rep's day."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from bot.cli.common import settings_or_exit


def demo(
    seed: int = typer.Option(42, help="Same seed, same organisation."),
    width: int | None = typer.Option(None, help="Terminal columns (default: detected, max 120)."),
) -> None:
    """Build the demo organisation (relative to now) and show the demo rep's overview."""
    from bot.terminal.demo import build_demo, demo_database_path, fresh_demo_engine, show_demo
    from bot.terminal.sections import terminal_console

    settings = settings_or_exit()
    path = demo_database_path(settings.data_dir)
    engine = fresh_demo_engine(path)
    now = datetime.now(UTC)
    org = build_demo(engine, now=now, seed=seed)
    console = terminal_console(width=width) if width else terminal_console()
    show_demo(console, engine, org, now=now, data_dir=settings.data_dir)
    activities = org.counts.get("activities", 0)
    console.print(
        f"[dim]Demo organisation (seed {seed}): {org.counts.get('users', 0)} users, "
        f"{org.counts.get('contacts', 0)} contacts, {org.counts.get('deals', 0)} deals, "
        f"{activities} activities, in {path}[/dim]"
    )
    engine.dispose()


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the ``salesbot`` command line."""
    app.command("demo")(demo)
