"""Run benchmarks: ``python -m bench NAME [args]``, or every one with ``python -m bench``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    """Benchmark names: the modules ``bench/bench_<name>.py``."""
    folder = str(Path(__file__).resolve().parent)
    return sorted(
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules([folder])
        if info.name.startswith("bench_")
    )


def run(name: str, argv: list[str]) -> None:
    module = importlib.import_module(f"bench.bench_{name}")
    module.main(argv)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    names = available()
    if not args:
        for name in names:
            print(f"== {name} ==", flush=True)
            run(name, [])
        return
    name, rest = args[0], args[1:]
    if name not in names:
        sys.exit(f"unknown benchmark {name!r}; available: {', '.join(names)}")
    run(name, rest)


if __name__ == "__main__":
    main()
