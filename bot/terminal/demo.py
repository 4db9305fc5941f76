"""The demo organisation in a terminal: a fresh SQLite file, then the rep's day, section by
section, as ``salesbot demo`` shows it.

The demo never touches the configured database: it always writes a fresh
``<data dir>/demo.sqlite3``, even when ``DATABASE_URL`` points elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

from rich.console import Console
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.terminal.actions import show_guided_actions
from bot.terminal.digest import digest_section
from bot.terminal.home import home_tab_section
from bot.terminal.insights import deal_insights_section
from bot.terminal.sections import OVERVIEW_SECTIONS, TerminalContext, render_sections
from demo import DEMO_DB_FILENAME, DemoOrg, build_demo_org
from demo.wording import in_german
from storage.db import make_engine, session_factory, unit_of_work, upgrade
from storage.models import Activity, Role, User


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


def show_demo(
    console: Console, engine: Engine, org: DemoOrg, *, now: datetime, data_dir: Path
) -> None:
    """Print the demo rep's day, then what the bot adds to it.

    The Home tab's Block Kit JSON is written to ``<data_dir>/home-tab.json`` on the way.
    """
    with Session(engine) as session:
        rep = session.get(User, org.rep_id)
        assert rep is not None
        context = TerminalContext(session=session, user=rep, now=now, org=org)
        # The rep's day first, then what the bot adds: guided actions, the Slack Home tab,
        # Deal Insights on the featured deal, and the morning digest.
        render_sections(console, context, sections=OVERVIEW_SECTIONS)
        show_guided_actions(console, session, user_id=rep.id, now=now)
        render_sections(
            console,
            context,
            sections=[
                partial(home_tab_section, path=data_dir / "home-tab.json"),
                deal_insights_section,
                digest_section,
            ],
        )
        german = german_speaker(session, org)
        if german is not None:
            console.print(
                f"\n[bold]{german.name}'s Slack is set to German (de-DE), so their digest "
                "arrives in German:[/bold]"
            )
            render_sections(
                console,
                TerminalContext(session=session, user=german, now=now, org=org),
                sections=[digest_section],
            )


def german_speaker(session: Session, org: DemoOrg) -> User | None:
    """Another rep of the demo, made a German speaker as Slack would say it (``de-DE``).

    A German speaker writes their records in German too (salesbot never translates CRM
    text), so their task and meeting subjects are set as they would have written them. The
    changes stay in this session (the demo file is rebuilt on every run anyway).
    """
    user = session.scalars(
        select(User)
        .where(User.role == Role.REP, User.is_active, User.id != org.rep_id)
        .order_by(User.id)
    ).first()
    if user is not None:
        user.slack_locale = "de-DE"
        for activity in session.scalars(select(Activity).where(Activity.owner_id == user.id)):
            if activity.subject:
                activity.subject = in_german(activity.subject)
        session.flush()
    return user
