"""``salesbot users``: link Slack users to CRM users, and list who is linked."""

from __future__ import annotations

import json
import re

import typer
from rich.table import Table

from bot.cli.common import console, fail, store_or_exit

users_app = typer.Typer(help="CRM users and their Slack accounts.", no_args_is_help=True)

# Slack user ids: U... (or W... on Enterprise Grid), upper-case letters and digits.
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")


@users_app.command("map")
def map_user(
    slack: str = typer.Option(..., "--slack", help="Slack user id, e.g. U0123ABCD."),
    email: str = typer.Option(..., "--email", help="The CRM user's email."),
) -> None:
    """Link a Slack user to the CRM user with EMAIL (when their Slack email differs)."""
    from storage.db import unit_of_work
    from storage.people import link_slack_user, user_by_email

    slack_id = slack.strip()
    if not SLACK_USER_ID.match(slack_id):
        fail(
            f"{slack_id!r} is not a Slack user id (like U0123ABCD: in Slack, open the "
            "profile, ⋮ > Copy member ID)"
        )
    store = store_or_exit()
    with unit_of_work(store.sessions) as session:
        user = user_by_email(session, email)
        if user is None:
            fail(f"no CRM user has the email {email!r}", code=1)
        link_slack_user(session, user, slack_id)
        name = user.name
    typer.echo(f"linked Slack user {slack_id} to {name} <{email.strip().lower()}>")


@users_app.command("list")
def list_users(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show every CRM user with role and linked Slack id."""
    from storage.db import unit_of_work
    from storage.people import all_users

    store = store_or_exit()
    with unit_of_work(store.sessions) as session:
        rows = [
            {
                "id": u.id,
                "name": u.name,
                "email": u.email,
                "role": u.role.value,
                "slack_user_id": u.slack_user_id,
                "active": u.is_active,
            }
            for u in all_users(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "name", "email", "role", "Slack", "active")
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["name"]),
            str(row["email"]),
            str(row["role"]),
            str(row["slack_user_id"] or "—"),
            "yes" if row["active"] else "no",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
