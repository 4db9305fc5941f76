"""``salesbot demo``: build the demo organisation into its own SQLite file and show a rep's day.

The demo never touches the configured database: it always writes a fresh
``<data dir>/demo.sqlite3``, even when ``DATABASE_URL`` points elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.commands_actions import show_guided_actions
from bot.commands_digest import digest_section
from bot.commands_insights import deal_insights_section
from bot.home_preview import home_tab_section
from bot.terminal import OVERVIEW_SECTIONS, TerminalContext, render_sections, terminal_console
from demo import DEMO_DB_FILENAME, DemoOrg, build_demo_org
from storage.db import make_engine, session_factory, unit_of_work, upgrade
from storage.models import User


def demo_database_path(data_dir: Path) -> Path:
    """Where the demo lives: its own file in the data folder."""
    return (data_dir / DEMO_DB_FILENAME).resolve()


def fresh_demo_engine(path: Path) -> Engine:
    """An engine on a new, migrated demo file (the previous demo file is deleted first)."""
    if path.name != DEMO_DB_FILENAME:
        raise ValueError(f"not the demo database file: {path}")
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def build_demo(engine: Engine, *, now: datetime, seed: int) -> DemoOrg:
    """Build the demo organisation in one transaction."""
    with unit_of_work(session_factory(engine)) as session:
        return build_demo_org(session, now=now, seed=seed)


def demo(
    seed: int = typer.Option(42, help="Same seed, same organisation."),
    width: int | None = typer.Option(None, help="Terminal columns (default: detected, max 120)."),
) -> None:
    """Build the demo organisation (relative to now) and show the demo rep's overview."""
    from bot.cli import settings_or_exit  # late: bot.cli imports this module

    settings = settings_or_exit()
    path = demo_database_path(settings.data_dir)
    engine = fresh_demo_engine(path)
    now = datetime.now(UTC)
    org = build_demo(engine, now=now, seed=seed)
    console = terminal_console(width=width) if width else terminal_console()
    with Session(engine) as session:
        rep = session.get(User, org.rep_id)
        assert rep is not None
        context = TerminalContext(session=session, user=rep, now=now, org=org)
        # The rep's day first, then what the bot adds: guided actions, the Slack Home tab,
        # Deal Insights on the featured deal, and the morning digest.
        render_sections(console, context, sections=OVERVIEW_SECTIONS)
        show_guided_actions(console, session, user_id=rep.id, now=now)
        home_json = settings.data_dir / "home-tab.json"
        render_sections(
            console,
            context,
            sections=[
                partial(home_tab_section, path=home_json),
                deal_insights_section,
                digest_section,
            ],
        )
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
