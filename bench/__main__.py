"""``python -m bench NAME [args]`` runs bench/bench_NAME.py; no NAME runs every benchmark."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def _names() -> list[str]:
    folder = Path(__file__).parent
    return sorted(
        module.name.removeprefix("bench_")
        for module in pkgutil.iter_modules([str(folder)])
        if module.name.startswith("bench_")
    )


def main(argv: list[str]) -> None:
    names = _names()
    if not argv:
        for name in names:
            importlib.import_module(f"bench.bench_{name}").main([])
        return
    name, rest = argv[0], argv[1:]
    if name not in names:
        sys.exit(f"unknown benchmark {name!r}; known: {', '.join(names)}")
    importlib.import_module(f"bench.bench_{name}").main(rest)


if __name__ == "__main__":
    main(sys.argv[1:])
