"""The lock check notices a dependency added to pyproject.toml without `make lock`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / ".ci" / "lockfile.py"), "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_dependency_added_without_relocking_is_named_stale(tmp_path: Path) -> None:
    (tmp_path / ".ci").mkdir()
    for name in ("pyproject.toml", "requirements.lock", "requirements-dev.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / ".ci" / "lockfile.py", tmp_path / ".ci" / "lockfile.py")
    assert _check(tmp_path).returncode == 0
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"pyyaml>=6",', '"pyyaml>=6",\n"babel",'))
    result = _check(tmp_path)
    assert result.returncode == 1
    assert "requirements.lock" in result.stderr and "make lock" in result.stderr
