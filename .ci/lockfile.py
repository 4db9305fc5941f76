"""The lock files against pyproject.toml: stamp them, or check they still match.

Each lock file starts with a line holding a fingerprint of what it was resolved from (the
declared dependencies, for its extras, and requires-python). ``check`` recomputes it: a lock
whose fingerprint differs was resolved from another pyproject.toml and must be regenerated
(``make lock``). Standard library only: it runs before anything is installed.

    python3 .ci/lockfile.py stamp    # after `uv pip compile` (make lock does both)
    python3 .ci/lockfile.py check    # exit 1, saying which lock is stale and why
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each lock file and the extras it includes.
LOCKS = {"requirements.lock": [], "requirements-dev.lock": ["dev"]}
MARK = "# pyproject.toml dependencies sha256: "


def fingerprint(extras: list[str]) -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": sorted(project.get("dependencies", [])),
        "extras": {e: sorted(project.get("optional-dependencies", {}).get(e, [])) for e in extras},
    }
    return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()


def stamp() -> None:
    for name, extras in LOCKS.items():
        path = ROOT / name
        lines = [ln for ln in path.read_text().splitlines() if not ln.startswith(MARK)]
        path.write_text("\n".join([MARK + fingerprint(extras), *lines]) + "\n")


def check() -> int:
    stale = []
    for name, extras in LOCKS.items():
        path = ROOT / name
        if not path.exists():
            stale.append(f"{name} is missing")
            continue
        first = path.read_text().split("\n", 1)[0]
        if first != MARK + fingerprint(extras):
            stale.append(f"{name} was resolved from other dependencies than pyproject.toml's")
    for problem in stale:
        print(f"lock check: {problem}: run `make lock` and commit the lock files", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "stamp":
        stamp()
        sys.exit(0)
    sys.exit(check())
