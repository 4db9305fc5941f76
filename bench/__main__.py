"""``python -m bench NAME [args]``: run one benchmark; with no name, run them all."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def _names() -> list[str]:
    folder = Path(__file__).parent
    return sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(folder)])
        if m.name.startswith("bench_")
    )


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    names = _names()
    if args and args[0] in {"-h", "--help"}:
        print(f"usage: python -m bench [{'|'.join(names)}] [args]")
        return
    if not args:
        for name in names:
            importlib.import_module(f"bench.bench_{name}").main([])
        return
    name, rest = args[0], args[1:]
    if name not in names:
        sys.exit(f"no benchmark {name!r}; have: {', '.join(names)}")
    importlib.import_module(f"bench.bench_{name}").main(rest)


if __name__ == "__main__":
    main()
