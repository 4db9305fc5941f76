"""``salesbot hubspot sync``, ``status``, ``setup`` and ``trial``.

Exit codes: 0 done, 1 the sync stopped (daily budget spent, or HubSpot refused), 2
configuration or database problems (a token of another portal), 130 interrupted (Ctrl-C or
SIGTERM).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Table

from bot.cli.common import console as out_console
from bot.cli.common import err_console, fail

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.settings import Settings
    from connectors.hubspot.write_api import WritingClient

# The object types (connectors.hubspot.ALL_NAMES; not imported here: the CLI starts light).
TYPES = (
    "owners, pipelines, companies, contacts, leads, deals, tasks, meetings, calls, emails, notes"
)

INTERRUPTED = 130

hubspot_app = typer.Typer(
    help="Keep the store in step with a HubSpot portal.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add ``salesbot hubspot ...`` to the CLI."""
    app.add_typer(hubspot_app, name="hubspot")


@hubspot_app.command("sync")
def sync_command(
    full: Annotated[
        bool, typer.Option("--full", help="List every record again instead of the changes.")
    ] = False,
    object_type: Annotated[
        list[str] | None,
        typer.Option("--object", help=f"Only this type (repeatable): {TYPES}."),
    ] = None,
    adopt_portal: Annotated[
        bool,
        typer.Option(
            "--adopt-portal",
            help="Once, for a database synced without a portal check (no `oauth` scope, or "
            "an older salesbot): record this token's portal as the one its records came from.",
        ),
    ] = False,
) -> None:
    """Bring the store up to date with the portal (changes since the last sync, or --full)."""
    from bot.cli.common import settings_or_exit, store_or_exit
    from bot.hubspot import client_for, is_configured, sync_and_apply
    from connectors.hubspot import ALL_NAMES

    settings = settings_or_exit()
    if not is_configured(settings):
        fail(
            "SALESBOT_HUBSPOT_TOKEN is not set: create a private app in HubSpot and "
            "set its access token (docs/hubspot.md)"
        )
    unknown = [name for name in object_type or [] if name not in ALL_NAMES]
    if unknown:
        fail(f"unknown object type {unknown[0]!r}: one of {TYPES}")
    store = store_or_exit(settings)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        console=err_console,
        disable=not sys.stderr.isatty(),
    )
    tasks: dict[str, TaskID] = {}
    done: dict[str, int] = {}

    def on_progress(name: str, records: int, _total: int | None) -> None:
        done[name] = done.get(name, 0) + records
        if name not in tasks:
            tasks[name] = progress.add_task(name)
        progress.update(tasks[name], description=f"{name}: {done[name]:,} records")

    with _sync_errors(), progress:
        applied = sync_and_apply(
            store.engine,
            client_for(settings),
            full=full,
            only=object_type or None,
            on_progress=on_progress,
            adopt_portal=adopt_portal,
        )
    if applied.result is None:
        err_console.print(f"[yellow]not synced: {applied.skipped_reason}[/yellow]")
        raise typer.Exit(1)
    result = applied.result
    table = Table("type", "records", "deleted", "skipped")
    for name, counts in result.types.items():
        table.add_row(name, f"{counts.records:,}", f"{counts.deleted:,}", f"{counts.skipped:,}")
    out_console.print(table)
    out_console.print(f"{result.requests:,} API requests; {len(result.problems)} problems logged")
    for problem in result.problems[:20]:
        err_console.print(f"  {problem}", markup=False, highlight=False)
    if result.stopped:
        err_console.print(
            f"[yellow]stopped: {result.stopped}; the next sync resumes there[/yellow]"
        )
        raise typer.Exit(1)


@contextmanager
def _sync_errors() -> Iterator[None]:
    """A sync's end in words and an exit code: another or unconfirmed portal (2), HubSpot's
    refusal (1), Ctrl-C or SIGTERM (130, the shell's code for an interrupt; the cursors are
    kept)."""
    from connectors.hubspot import HubSpotError
    from connectors.hubspot.account import OtherPortal, UnconfirmedPortal

    try:
        yield
    except (OtherPortal, UnconfirmedPortal) as error:
        fail(str(error))
    except HubSpotError as error:
        fail(str(error), 1)
    except KeyboardInterrupt:
        err_console.print(
            "[yellow]interrupted: what was synced is kept, and the next "
            "`salesbot hubspot sync` resumes where this one stopped[/yellow]"
        )
        raise typer.Exit(INTERRUPTED) from None


@hubspot_app.command("setup")
def setup_command() -> None:
    """Create salesbot's properties in the portal (salesbot_id, salesbot_acted_by, in a
    group "salesbot", on every object type salesbot writes). Safe to run again."""
    from bot.cli.common import settings_or_exit
    from bot.hubspot import is_configured
    from bot.writeback import writing_client
    from connectors.hubspot import HubSpotError
    from connectors.hubspot.setup import ensure_properties
    from connectors.hubspot.write_api import MARKER_PROPERTY

    settings = settings_or_exit()
    if not is_configured(settings):
        fail(
            "SALESBOT_HUBSPOT_TOKEN is not set: create a private app in HubSpot and "
            "set its access token (docs/hubspot.md)"
        )
    try:
        report = ensure_properties(writing_client(settings))
    except HubSpotError as error:
        fail(str(error), 1)
    for object_type, name in report.created:
        out_console.print(f"created {name} on {object_type}")
    present = sorted({object_type for object_type, _name in report.present})
    if present:
        out_console.print(f"already there on {', '.join(present)}: left as they are")
    for object_type, why in report.not_unique:
        out_console.print(
            f"{MARKER_PROPERTY} on {object_type} is not unique ({why}): nothing to do, new "
            f"{object_type} stay exactly once; a create whose answer was lost is found by "
            "search, 10 s later (docs/hubspot.md, Connect a portal)",
            markup=False,
            highlight=False,
        )
    out_console.print("salesbot's HubSpot properties are ready")


@hubspot_app.command("status")
def status_command() -> None:
    """Where the sync stands per object type, today's API requests, and the write-back."""
    from sqlalchemy.orm import Session

    from bot.cli.common import settings_or_exit, store_or_exit
    from connectors.hubspot import status
    from connectors.hubspot.webhooks import GIVE_UP_AFTER

    settings = settings_or_exit()
    store = store_or_exit(settings)
    now = datetime.now(UTC)
    with Session(store.engine) as session:
        current = status(session, now)
    table = Table("type", "cursor", "lag", "records", "last run", "last error")
    for t in current.types:
        cursor = _when(t.cursor_at) + (" (full sync under way)" if t.full_in_progress else "")
        table.add_row(
            t.name,
            cursor,
            _age(t.lag),
            f"{t.records:,}",
            _when(t.last_run_at),
            t.last_error or "",
        )
    out_console.print(table)
    if current.portal_id is not None:
        out_console.print(f"portal: {current.portal_id} (this database syncs it and no other)")
    else:
        out_console.print("portal: not recorded yet (the next sync records it)")
    limit = f"{current.daily_limit:,}" if current.daily_limit else "unknown"
    out_console.print(f"API requests today: {current.requests_today:,} of {limit}")
    if current.budget_spent:
        out_console.print(
            "[yellow]the daily API budget is spent: "
            "syncs resume from their cursors tomorrow[/yellow]"
        )
    out_console.print(f"webhook events waiting: {current.pending_events:,}")
    if current.lease_holder and current.lease_expires_at:
        out_console.print(
            f"syncing now: {current.lease_holder} holds the sync lease until "
            f"{_when(current.lease_expires_at)} UTC (a stopped holder's lease runs out then)",
            markup=False,
            highlight=False,
        )
    if current.given_up_events:
        out_console.print(
            f"[yellow]webhook events given up after {GIVE_UP_AFTER} failed tries: "
            f"{current.given_up_events:,} (the next sync brings their changes; associations: "
            "`salesbot hubspot sync --full`)[/yellow]"
        )
    _print_outbox(store.engine, now)
    _print_write_setup(store.engine, settings)


def _print_write_portal(engine: Engine, client: WritingClient) -> None:
    """Whether the write-back may write with this token (its portal is the store's)."""
    from connectors.hubspot.account import gate_writes

    gate = gate_writes(engine, client, now=datetime.now(UTC), record=False)
    if gate.open:
        said = "on" + (f" (unchecked: {gate.reason})" if gate.reason else "")
    else:
        said = f"off, {gate.reason}"
    out_console.print(f"write-back: {said}", markup=False, highlight=False)


def _print_write_setup(engine: Engine, settings: Settings) -> None:
    """The check of salesbot's properties in the portal, and whether changes name who acted."""
    from bot.hubspot import is_configured
    from bot.writeback import writing_client
    from connectors.hubspot.setup import check_properties
    from connectors.hubspot.write_api import ACTOR_PROPERTY

    if not is_configured(settings):
        out_console.print("salesbot's HubSpot properties: not checked (no token)")
        return
    _print_write_portal(engine, writing_client(settings))
    found = check_properties(writing_client(settings))
    out_console.print(found.describe(), markup=False, highlight=False)
    if not settings.hubspot_author_property:
        who = "off (SALESBOT_HUBSPOT_AUTHOR_PROPERTY=false): HubSpot shows the app only"
    elif found.actor_types:
        who = f"{ACTOR_PROPERTY} names the Slack user on {', '.join(sorted(found.actor_types))}"
    else:
        who = f"on, but no object type has {ACTOR_PROPERTY} yet: HubSpot shows the app only"
    out_console.print(f"who acted, in HubSpot: {who}", markup=False, highlight=False)


def _print_outbox(engine: Engine, now: datetime) -> None:
    """The write-back's outbox: waiting, failed (why), waiting for a user's decision."""
    from sqlalchemy.orm import Session

    from storage.outbox import summary

    with Session(engine) as session:
        outbox = summary(session)
    oldest = ""
    if outbox.oldest_pending_at is not None:
        oldest = f" (oldest {_age(now - outbox.oldest_pending_at)} old)"
    out_console.print(
        f"writes to HubSpot: {outbox.pending:,} pending{oldest}, {outbox.failed:,} failed, "
        f"{outbox.conflicts:,} waiting for a user's decision"
    )
    for reason, count in outbox.failure_reasons:
        out_console.print(f"  failed ({count:,}): {reason}", markup=False, highlight=False)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "never"


def _age(delta: timedelta | None) -> str:
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


@hubspot_app.command("trial")
def trial_command(
    seed: Annotated[int, typer.Option(help="The demo organisation's seed.")] = 42,
    width: Annotated[
        int | None, typer.Option(help="Terminal columns (default: detected, max 120).")
    ] = None,
) -> None:
    """Try the connector without a portal: the HubSpot stand-in, loaded with the demo
    organisation, synced into a fresh embedded database; then changes through webhooks."""
    from bot.cli.common import settings_or_exit
    from bot.hubspot_trial import run_trial
    from connectors.hubspot import HubSpotError

    settings = settings_or_exit()
    try:
        run_trial(settings.data_dir, seed=seed, width=width)
    except (HubSpotError, RuntimeError) as error:
        fail(str(error), 1)
