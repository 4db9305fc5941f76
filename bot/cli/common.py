"""What every ``salesbot`` command shares: the consoles, settings and store (or exit 2), one
way to find a user, one ``--at`` parser.

Light at import on purpose: ``salesbot --help`` imports this module, so the database, the
settings model and the domain load only inside the functions that need them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.settings import Settings
    from bot.store import Store
    from storage.models import User

# Exit codes: 0 done; 1 the command ran and found nothing to do it on (a refused file, a
# deal the user cannot see); 2 bad input on the command line, settings or the database.
BAD_INPUT = 2

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    """Print ``message`` in red on stderr (as plain text, never markup) and exit with ``code``.

    Not wrapped at the terminal's width: a long line stays one line for logs and scripts.
    """
    err_console.print(f"[red]{escape(message)}[/red]", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def settings_or_exit(**overrides: Any) -> Settings:
    """The settings from the environment (and ``overrides``), or exit 2 naming the problem."""
    from bot.settings import SettingsError, load_settings

    try:
        return load_settings(**overrides)
    except SettingsError as error:
        fail(str(error))


def store_or_exit(settings: Settings | None = None) -> Store:
    """The database, migrated and reachable, or exit 2 with one line saying why."""
    from bot.store import open_store

    settings = settings or settings_or_exit()
    try:
        return open_store(settings)
    except Exception as error:  # any connection or schema problem: say it plainly
        fail(f"cannot open the database: {one_line(error)}")


def one_line(error: BaseException) -> str:
    """An exception as one line: drivers put hints and SQL on lines of their own."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


class UserNotFound(LookupError):
    """No user, or more than one, matches what was typed; the message says which."""


# How a typed name finds a user, most specific first: the first rule that matches settles it.
_USER_KEYS = "an email, CRM owner id, Slack id, user id or exact name"
# The help of every option that names a user (``--user``, ``--as``).
USER_HELP = "Email, CRM owner id, Slack id, user id or exact name."


def find_user(session: Session, text: str) -> User:
    """The one user ``text`` names: by email (any case), CRM owner id, Slack id, id, or name.

    Raises:
        UserNotFound: when no rule matches, or the first rule that matches finds two users.
    """
    from sqlalchemy import func, select

    from storage.models import User

    key = text.strip()
    rules = [
        func.lower(User.email) == key.lower(),
        User.external_id == key,
        User.slack_user_id == key,
    ]
    if key.isdigit():
        rules.append(User.id == int(key))
    rules.append(func.lower(User.name) == key.lower())
    for rule in rules:
        found = session.scalars(select(User).where(rule).order_by(User.id).limit(2)).all()
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise UserNotFound(f"more than one user matches {text!r}: give their email")
    raise UserNotFound(f"no user {text!r} (give {_USER_KEYS})")


def user_or_exit(session: Session, text: str) -> User:
    """:func:`find_user`, or exit 2 with its message."""
    try:
        return find_user(session, text)
    except UserNotFound as error:
        fail(str(error))


def parse_at(text: str | None, *, option: str = "--at") -> datetime:
    """An ISO time with a zone (``2026-03-11T15:30Z``) in UTC; None means now. Exit 2 if bad."""
    if text is None or not text.strip():
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not an ISO time (e.g. 2026-03-11T15:30Z)")
    if value.tzinfo is None:
        fail(f"{option} {text!r} has no time zone: add Z or an offset like +01:00")
    return value.astimezone(UTC)
