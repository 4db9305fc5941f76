"""``salesbot hubspot trial`` needs no source checkout: the stand-in is installed with
salesbot (``demo.hubspot_portal``), and nothing the trial loads comes from ``tests``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Run in a fresh interpreter, isolated (-I: no script folder, no PYTHONPATH, no user site)
# and away from the checkout: only what is installed can be imported.
_CHILD = """
import importlib.util, json, sys
assert importlib.util.find_spec("tests") is None, "tests is importable"
from bot.hubspot_trial import STANDIN, _standin
assert importlib.util.find_spec(STANDIN) is not None, f"{STANDIN} is not installed"
with _standin(seed=42) as portal:
    print(json.dumps({"url": portal.base_url, "rep": portal.rep_email}))
loaded = sorted(m for m in sys.modules if m == "tests" or m.startswith("tests."))
print(json.dumps(loaded))
"""


@pytest.mark.slow
def test_the_trial_starts_its_stand_in_without_the_tests_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    done = subprocess.run(
        [sys.executable, "-I", "-c", _CHILD],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    started, loaded = done.stdout.strip().splitlines()[-2:]
    assert '"url": "http://127.0.0.1:' in started and '"rep": "' in started
    assert '"rep": ""' not in started  # the demo organisation was loaded
    assert loaded == "[]"
