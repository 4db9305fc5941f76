"""The ``salesbot`` command line: one Typer app, one module per command group.

Every module of this package is light at import (Typer, rich, the standard library): a
command imports the database, Slack, the model client and the domain inside its own
function, so ``salesbot --help`` and ``salesbot import`` do not pay for ``serve``.
Shared helpers (settings, store, user finder, ``--at``, consoles) live in ``common``.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType

import typer

from bot.cli import actions, data, db, demo, digest, hubspot, insights, serve, users

app = typer.Typer(
    help="salesbot: a sales team's workspace in Slack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db.db_app, name="db")
demo.register(app)
data.register(app)
app.add_typer(digest.digest_app, name="digest")
insights.register(app)
serve.register(app)
users.register(app)
actions.register(app)
hubspot.register(app)


def main() -> None:
    """The ``salesbot`` console script."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # SIGTERM (``timeout``, ``docker stop``, a job runner) stops a command as Ctrl-C does,
    # so its ``finally`` blocks run: a sync gives its lease back instead of holding it for
    # ten minutes. ``serve`` installs its own graceful handler over this one.
    signal.signal(signal.SIGTERM, _interrupt)
    app()


def _interrupt(_number: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt
