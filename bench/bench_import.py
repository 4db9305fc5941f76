"""How fast `salesbot import` loads a large organisation, and how much memory it takes.

Each size is imported into a fresh database by a child process of its own, so that one
size's memory cannot pollute the next: the child reports wall and CPU seconds and its
peak resident memory (``ru_maxrss``), also relative to its resident memory just before
the import started (Python, SQLAlchemy and the schema loaded).

    python -m bench import                      # 1/100, 1/10 and full size, SQLite
    python -m bench import --scales 0.01,0.1    # smaller, while iterating
    python -m bench import --postgres           # PostgreSQL too (when it is up)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.generate import snapshot_file

DEFAULT_SCALES = (0.01, 0.1, 1.0)
POSTGRES_URL = os.environ.get(
    "SALESBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(path: Path, url: str) -> dict[str, Any]:
    """Import ``path`` into the empty database at ``url``; return the measurements."""
    from storage.db import make_engine, upgrade
    from storage.snapshot import import_snapshot

    engine = make_engine(url)
    upgrade(engine)
    before = _rss_mib()
    wall, cpu = time.perf_counter(), time.process_time()
    report = import_snapshot(engine, path, now=datetime.now(UTC))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "records": sum(c.inserted for c in report.sections.values()),
        "rows": report.rows_written,
        "seconds": wall,
        "cpu_seconds": cpu,
        "peak_mib": peak,
        "baseline_mib": before,
    }


def _measure(path: Path, database: str) -> dict[str, Any]:
    """Run one import in a fresh child process on a fresh database."""
    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        if database == "sqlite":
            url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
            return _run_child(path, url)
        admin, url = _fresh_postgres()
        try:
            return _run_child(path, url)
        finally:
            name = url.rsplit("/", 1)[1]
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()


def _run_child(path: Path, url: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.bench_import", "--child", str(path), url]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"import child failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _fresh_postgres() -> tuple[Any, str]:
    import psycopg

    admin_url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    name = f"salesbot_bench_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    return admin, f"{admin_url.rsplit('/', 1)[0]}/{name}"


def _postgres_is_up() -> bool:
    try:
        admin, url = _fresh_postgres()
    except Exception:
        return False
    admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}"')
    admin.close()
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench import", description=__doc__)
    parser.add_argument("--scales", default=",".join(str(s) for s in DEFAULT_SCALES))
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (median shown)")
    parser.add_argument("--postgres", action="store_true", help="also import into PostgreSQL")
    parser.add_argument("--child", nargs=2, metavar=("FILE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(Path(args.child[0]), args.child[1])))
        return

    console = Console(width=150)
    now = datetime.now(UTC)
    scales = [float(s) for s in args.scales.split(",")]
    databases = ["sqlite"]
    if args.postgres:
        if _postgres_is_up():
            databases.append("postgres")
        else:
            console.print(f"[yellow]PostgreSQL not reachable at {POSTGRES_URL}: skipped[/]")

    rows: list[dict[str, Any]] = []
    for scale in scales:
        started = time.perf_counter()
        path = snapshot_file(scale, now)
        console.print(
            f"scale {scale:g}: {path.name} ({path.stat().st_size / 2**20:,.0f} MiB, "
            f"ready in {time.perf_counter() - started:.0f} s)"
        )
        for database in databases:
            runs = [_measure(path, database) for _ in range(args.repeat)]
            result = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
            result |= {"scale": scale, "database": database, "runs": len(runs)}
            rows.append(result)
            console.print(f"  {database}: {result['rows']:,.0f} rows in {result['seconds']:.1f} s")
    console.print(_table(rows))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    console.print(
        f"{os.cpu_count()} CPUs, load average {load} at the end: wall-clock rates fall when "
        "other processes compete; rows/CPU-s is the import's own cost."
    )


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="salesbot import: fresh database, median per size")
    for header in (
        "database",
        "size",
        "records",
        "rows",
        "seconds",
        "rows/s",
        "rows/CPU-s",
        "peak RSS MiB",
        "over baseline MiB",
        "vs smallest (rows/s, memory)",
    ):
        table.add_column(header, justify="right")
    smallest: dict[str, dict[str, Any]] = {}
    for row in rows:
        first = smallest.setdefault(row["database"], row)
        speed = row["rows"] / row["seconds"]
        first_speed = first["rows"] / first["seconds"]
        table.add_row(
            row["database"],
            f"{row['scale']:g}",
            f"{row['records']:,.0f}",
            f"{row['rows']:,.0f}",
            f"{row['seconds']:.1f}",
            f"{speed:,.0f}",
            f"{row['rows'] / row['cpu_seconds']:,.0f}",
            f"{row['peak_mib']:.0f}",
            f"{row['peak_mib'] - row['baseline_mib']:.0f}",
            f"x{speed / first_speed:.2f}, x{row['peak_mib'] / first['peak_mib']:.2f}",
        )
    return table


if __name__ == "__main__":
    main()
