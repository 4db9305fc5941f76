"""The container files keep their promises; the image's healthcheck and command work.

No container runtime runs on the development machines (docs/operations.md says what failed),
so the image's command and healthcheck are run here as plain processes, as the image would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.builders import CRM
from tests.support.process import free_port, serve_process
from tests.support.signing import slash_command_body
from tests.support.slack_api import running_standin

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instruction(name: str) -> list[str]:
    joined = DOCKERFILE.replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(name + " ")]


def _healthcheck_command() -> list[str]:
    (line,) = _instruction("HEALTHCHECK")
    command = json.loads(line[line.index("CMD") + 3 :].strip())
    assert isinstance(command, list)
    return [sys.executable if part == "python" else part for part in command]


def test_the_image_is_slim_non_root_locked_and_runs_salesbot_serve() -> None:
    bases = _instruction("FROM")
    assert all(re.match(r"python:3\.\d+-slim\b", base) for base in bases)
    assert _instruction("USER") == ["salesbot"]
    assert json.loads(_instruction("CMD")[-1]) == ["salesbot", "serve"]
    runs = " ".join(_instruction("RUN"))
    assert "-r requirements.lock" in runs and "--no-deps ." in runs
    assert "pybabel compile" in runs  # the catalogues make compiles, the image compiles too
    # The final stage copies the environment only: no compiler or pip reaches it.
    final = DOCKERFILE.rsplit("FROM ", 1)[1]
    assert "COPY --from=build /opt/salesbot /opt/salesbot" in final
    assert "apt-get" not in final and "pip install" not in final


def test_the_image_copies_every_package_salesbot_installs() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = {line.split()[0] for line in _instruction("COPY")}
    assert {p.rstrip("*") for p in packages} <= copied


def test_compose_migrates_once_then_runs_two_replicas() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert services["migrate"]["command"] == ["salesbot", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    app = services["salesbot"]
    assert app["command"] == ["salesbot", "serve"]
    assert app["deploy"]["replicas"] == 2
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "postgres" in services["db"]["image"]


def test_the_images_command_and_healthcheck_work_outside_a_container(
    sqlite_engine: Engine, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    check = _healthcheck_command()
    with running_standin() as slack, serve_process(sqlite_engine, slack.api_url) as served:
        served.wait_healthy()
        env = {**os.environ, "SALESBOT_PORT": str(served.port)}
        env.pop("SALESBOT_OPS_PORT", None)
        assert subprocess.run(check, env=env, timeout=30).returncode == 0
        body = slash_command_body(
            "/sales", "help", user_id="UDANA", response_url=slack.response_url()
        )
        status, _ = served.post_signed(body, "application/x-www-form-urlencoded")
        assert status == 200
        slack_answer = slack.wait_for("response_url")
        code, logged = served.stop()
    assert "/sales" in str(slack_answer[-1].params)
    assert code == 0, logged
    nothing = {**os.environ, "SALESBOT_PORT": str(free_port())}
    assert subprocess.run(check, env=nothing, capture_output=True, timeout=30).returncode != 0
