"""``salesbot db``: the database schema (Alembic), upgraded or shown."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from bot.cli.common import fail, one_line, settings_or_exit

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from storage.db import current_revision, make_engine, upgrade

    settings = settings_or_exit()
    with _database_errors_exit("cannot upgrade the database"):
        engine = make_engine(settings.effective_database_url)
        upgrade(engine, revision)
        typer.echo(f"database at revision {current_revision(engine)}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision and the latest one."""
    from storage.db import current_revision, head_revision, make_engine

    settings = settings_or_exit()
    with _database_errors_exit("cannot read the database's revision"):
        engine = make_engine(settings.effective_database_url)
        typer.echo(f"current: {current_revision(engine)}  latest: {head_revision()}")


@contextmanager
def _database_errors_exit(what: str) -> Iterator[None]:
    """An unreachable database or an unknown revision: one line and exit 2, as every command."""
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except (SQLAlchemyError, CommandError, OSError) as error:
        fail(f"{what}: {one_line(error)}")
