"""``salesbot import`` and ``salesbot export``: CRM snapshots in and out.

Exit codes: 0 done, 1 the file was refused (problems on stderr, nothing written),
2 configuration or database problems (or a file that cannot be opened).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from bot.cli.common import console, err_console, fail, store_or_exit

if TYPE_CHECKING:
    from storage.snapshot import ImportReport


def register(app: typer.Typer) -> None:
    """Add the ``import`` and ``export`` commands to the CLI."""
    app.command("import")(import_command)
    app.command("export")(export_command)


def import_command(
    file: Annotated[Path, typer.Argument(help="Snapshot file (JSON) to import.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the counts as JSON on stdout.")
    ] = False,
) -> None:
    """Upsert every record of a snapshot FILE; a file with any problem writes nothing."""
    from storage.snapshot import SnapshotError, import_snapshot

    try:
        size = file.stat().st_size
        stream = file.open("rb")
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror}")
    store = store_or_exit()
    started = time.perf_counter()
    try:
        with stream, _progress(size, "importing") as on_progress:
            report = import_snapshot(
                store.engine, stream, now=datetime.now(UTC), on_progress=on_progress
            )
    except SnapshotError as error:
        err_console.print(f"[red]{file}: refused, nothing was imported[/red]", highlight=False)
        for problem in error.problems:
            err_console.print(f"  {problem}", highlight=False, markup=False)
        if error.stopped_early:
            err_console.print(f"  (stopped after {len(error.problems)} problems)")
        raise typer.Exit(1) from None
    seconds = time.perf_counter() - started
    if as_json:
        sys.stdout.write(json.dumps(report_as_json(report, seconds), indent=2) + "\n")
        return
    console.print(_report_table(report))
    console.print(f"{report.rows_written:,} rows written in {seconds:.1f} s")


def export_command(
    file: Annotated[Path, typer.Argument(help="Snapshot file (JSON) to write.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the counts as JSON on stdout.")
    ] = False,
) -> None:
    """Write every record to a snapshot FILE (the format `salesbot import` reads)."""
    from storage.snapshot import export_snapshot

    store = store_or_exit()
    try:
        counts = export_snapshot(store.engine, file, now=datetime.now(UTC))
    except OSError as error:
        fail(f"cannot write {file}: {error.strerror}")
    if as_json:
        sys.stdout.write(json.dumps({"file": str(file), "records": counts}, indent=2) + "\n")
        return
    table = Table("section", "records")
    for section, count in counts.items():
        table.add_row(section, f"{count:,}")
    console.print(table)
    console.print(f"written to {file}")


def report_as_json(report: ImportReport, seconds: float) -> dict[str, object]:
    """The ``--json`` output of ``salesbot import``."""
    return {
        "sections": {
            name: {"inserted": c.inserted, "updated": c.updated, "unchanged": c.unchanged}
            for name, c in report.sections.items()
        },
        "rows_written": report.rows_written,
        "seconds": round(seconds, 3),
    }


def _report_table(report: ImportReport) -> Table:
    table = Table("section", "inserted", "updated", "unchanged")
    for name, counts in report.sections.items():
        table.add_row(name, f"{counts.inserted:,}", f"{counts.updated:,}", f"{counts.unchanged:,}")
    return table


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr, only when stderr is a terminal."""
    if not err_console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.update(task, completed=done)
