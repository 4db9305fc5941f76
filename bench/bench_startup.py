"""Start-up of the ``salesbot`` command line: ``python -m bench startup [--runs 10]``.

Runs ``salesbot --help``, ``salesbot actions --help`` and ``salesbot import --help`` as a user
would (a new process each time) and prints the median wall time of each next to the aim
(0.5 s) and the floor: a bare ``python -c pass``, which no command can beat. Help builds the
whole command tree, so it is what every command pays before its own work begins; ``serve``
and ``insights`` load Slack and the model client on top, inside their own functions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

from rich.console import Console
from rich.table import Table

AIM_SECONDS = 0.5
COMMANDS = (["--help"], ["actions", "--help"], ["import", "--help"])


def _salesbot() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m bot``."""
    script = shutil.which("salesbot", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "bot"]


def _median_seconds(argv: list[str], runs: int) -> tuple[float, float]:
    """Median and fastest wall time of ``argv`` over ``runs`` runs (after one warm-up run)."""
    times = []
    for attempt in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if attempt:  # the first run warms the file cache and the bytecode
            times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="runs per command (median shown)")
    args = parser.parse_args(argv)

    floor, _ = _median_seconds([sys.executable, "-c", "pass"], args.runs)
    table = Table(title=f"salesbot start-up: median wall time of {args.runs} runs")
    for header in ("command", "median s", "fastest s", "aim s", "floor s", "median / aim"):
        table.add_column(header, justify="right" if header != "command" else "left")
    for command in COMMANDS:
        median, fastest = _median_seconds([*_salesbot(), *command], args.runs)
        verdict = "green" if median <= AIM_SECONDS else "red"
        table.add_row(
            "salesbot " + " ".join(command),
            f"[{verdict}]{median:.3f}[/{verdict}]",
            f"{fastest:.3f}",
            f"{AIM_SECONDS:.1f}",
            f"{floor:.3f}",
            f"{median / AIM_SECONDS:.2f}",
        )
    console = Console(width=120)
    console.print(table)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    console.print(
        f"{os.cpu_count()} CPUs, load average {load}: wall time grows when other processes "
        "compete; the floor moves with it."
    )


if __name__ == "__main__":
    main()
