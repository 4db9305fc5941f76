"""The ``salesbot`` command line."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console

from bot import commands_data, commands_demo
from bot.commands_digest import digest_app as _digest_app
from bot.commands_insights import register as register_insights
from bot.settings import Settings, SettingsError, load_settings
from bot.store import Store, open_store
from storage.db import current_revision, head_revision, make_engine, upgrade

app = typer.Typer(
    help="salesbot: a sales team's workspace in Slack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
commands_demo.register(app)
commands_data.register(app)
app.add_typer(_digest_app, name="digest")
register_insights(app)

err_console = Console(stderr=True)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        err_console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


def store_or_exit(settings: Settings | None = None) -> Store:
    settings = settings or settings_or_exit()
    try:
        return open_store(settings)
    except Exception as error:  # any connection or schema problem: say it plainly
        err_console.print(f"[red]cannot open the database: {error}[/red]")
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    settings = settings_or_exit()
    engine = make_engine(settings.effective_database_url)
    upgrade(engine, revision)
    typer.echo(f"database at revision {current_revision(engine)}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision and the latest one."""
    settings = settings_or_exit()
    engine = make_engine(settings.effective_database_url)
    typer.echo(f"current: {current_revision(engine)}  latest: {head_revision()}")


# Each area's commands live in bot/commands_<area>.py (imported last: they use the helpers above).
from bot import commands_actions, commands_serve, commands_users  # noqa: E402

commands_serve.register(app)
commands_users.register(app)
commands_actions.register(app)


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app()


if __name__ == "__main__":
    main()
    sys.exit(0)
