"""``salesbot serve`` as a real process, the way the container image runs it."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from tests.support.app import BOT_TOKEN, SIGNING_SECRET, WAIT_SECONDS
from tests.support.signing import signed_headers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServeProcess:
    process: subprocess.Popen[str]
    port: int

    def request(
        self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT_SECONDS)
        try:
            connection.request(method, path, body=body.encode(), headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def post_signed(self, body: str, content_type: str) -> tuple[int, str]:
        headers = signed_headers(SIGNING_SECRET, body, content_type=content_type)
        return self.request("POST", "/slack/events", body, headers)

    def wait_healthy(self, timeout: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"salesbot serve exited: {self.process.communicate()}")
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("salesbot serve never answered /health")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> tuple[int, str]:
        """Send ``sig`` and wait for the exit; return the exit code and what it logged."""
        self.process.send_signal(sig)
        _out, err = self.process.communicate(timeout=WAIT_SECONDS)
        return self.process.returncode, err


@contextmanager
def serve_process(
    engine: Engine, api_url: str, *, mode: str = "http", **env: str
) -> Iterator[ServeProcess]:
    """Run ``salesbot serve`` (the image's command) against a database and a stand-in Slack."""
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SALESBOT_"))},
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "SALESBOT_SLACK_MODE": mode,
        "SALESBOT_HOST": "127.0.0.1",
        "SALESBOT_PORT": str(port),
        "SALESBOT_SHUTDOWN_SECONDS": "20",
        **env,
    }
    salesbot = Path(sys.executable).with_name("salesbot")
    process = subprocess.Popen(
        [str(salesbot), "serve"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield ServeProcess(process, port)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
