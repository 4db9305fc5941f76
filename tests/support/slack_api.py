"""A local HTTP server standing in for Slack's Web API.

Point a ``WebClient(base_url=standin.api_url)`` (or the app's ``SLACK_API_URL``) at it. It
records every call, answers with plausible payloads, and can be told to fail a method, to
answer slowly, or to enforce rate limits with HTTP 429 and ``Retry-After`` like Slack does.
It also receives ``response_url`` posts (use ``standin.response_url(...)`` in payloads).
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from tests.support.local_server import LocalServer, send_json


@dataclass(frozen=True)
class Call:
    """One request the stand-in received."""

    method: str  # Web API method ("chat.postMessage"), or "response_url"
    params: dict[str, Any]
    headers: dict[str, str]
    at: float  # time.monotonic() when received
    status: int  # HTTP status answered

    @property
    def ok(self) -> bool:
        return self.status == 200

    def json_param(self, name: str) -> Any:
        """A parameter that Slack accepts as a JSON string in forms (blocks, view)."""
        value = self.params.get(name)
        return json.loads(value) if isinstance(value, str) else value


@dataclass
class _Bucket:
    """A token bucket: ``rate`` calls per second on average, ``burst`` at once."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float) -> float:
        """Take a token; return 0, or the seconds to wait when there is none."""
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class _Failure:
    error: str
    times: int | None  # None: always
    status: int = 200
    when: Callable[[dict[str, Any]], bool] | None = None


@dataclass
class SlackStandIn(LocalServer):
    """The stand-in server; use as a context manager or call ``start()``/``stop()``."""

    team_id: str = "T0STANDIN"
    bot_user_id: str = "UBOT"
    calls: list[Call] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    latency_seconds: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, list[_Failure]] = defaultdict(list)
        self._overrides: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        self._limits: dict[str, tuple[float, float, str | None]] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._ts = itertools.count(1)
        self._server = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    @property
    def api_url(self) -> str:
        """What ``WebClient(base_url=...)`` and ``SLACK_API_URL`` take (ends with a slash)."""
        return f"{self.base_url}/api/"

    def response_url(self, key: str = "r") -> str:
        return f"{self.base_url}/respond/{key}"

    # Set-up -------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        email: str,
        tz: str = "UTC",
        name: str = "",
        locale: str = "en-US",
    ) -> None:
        """A workspace member; ``users.info`` gives ``locale`` when asked ``include_locale``."""
        self.users[user_id] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name or email.split("@")[0],
            "real_name": name or email.split("@")[0],
            "tz": tz,
            "deleted": False,
            "profile": {"email": email, "real_name": name},
            "locale": locale,
        }

    def fail(
        self,
        method: str,
        error: str,
        *,
        times: int | None = 1,
        status: int = 200,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Answer ``{"ok": false, "error": error}`` to the next ``times`` matching calls."""
        with self._lock:
            self._failures[method].append(_Failure(error, times, status, when))

    def respond(self, method: str, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Answer ``method`` with ``answer(params)`` (``ok`` is added when missing)."""
        self._overrides[method] = answer

    def rate_limit(
        self, method: str, *, per_second: float, burst: float = 1.0, per: str | None = None
    ) -> None:
        """Enforce a token bucket on ``method``; ``per="channel"`` keeps one per channel."""
        self._limits[method] = (per_second, burst, per)

    # Reading what happened ----------------------------------------------------------

    def calls_to(self, method: str, *, ok_only: bool = True) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and (c.ok or not ok_only)]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def wait_for(self, method: str, count: int = 1, timeout: float = 60.0) -> list[Call]:
        """Wait until ``count`` successful calls to ``method`` arrived (work after an ack)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.calls_to(method)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(f"expected {count} call(s) to {method}, got {self.calls_to(method)}")

    # Answering ----------------------------------------------------------------------

    def _answer(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        now = time.monotonic()
        with self._lock:
            retry_after = self._limited(method, params, now)
            if retry_after:
                self.calls.append(Call(method, params, headers, now, 429))
                return (
                    429,
                    {"ok": False, "error": "ratelimited"},
                    {"Retry-After": str(max(1, math.ceil(retry_after)))},
                )
            failure = self._take_failure(method, params)
            if failure is not None:
                self.calls.append(Call(method, params, headers, now, failure.status))
                return failure.status, {"ok": False, "error": failure.error}, {}
            self.calls.append(Call(method, params, headers, now, 200))
        override = self._overrides.get(method)
        body = override(params) if override else self._default(method, params)
        body.setdefault("ok", True)
        return 200, body, {}

    def _limited(self, method: str, params: dict[str, Any], now: float) -> float:
        limit = self._limits.get(method)
        if limit is None:
            return 0.0
        rate, burst, per = limit
        key = str(params.get(per, "")) if per else ""
        bucket = self._buckets.setdefault((method, key), _Bucket(rate, burst))
        return bucket.take(now)

    def _take_failure(self, method: str, params: dict[str, Any]) -> _Failure | None:
        for failure in self._failures.get(method, []):
            if failure.when is not None and not failure.when(params):
                continue
            if failure.times is not None:
                if failure.times <= 0:
                    continue
                failure.times -= 1
            return failure
        return None

    # A table: one answer per Web API method, read top to bottom.
    def _default(self, method: str, params: dict[str, Any]) -> dict[str, Any]:  # noqa: C901
        if method == "auth.test":
            return {
                "url": "https://standin.slack.com/",
                "team": "Stand-in",
                "user": "salesbot",
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "bot_id": "BSTANDIN",
            }
        if method in {"chat.postMessage", "chat.update", "chat.postEphemeral"}:
            channel = params.get("channel", "")
            ts = params.get("ts") or f"{1700000000 + next(self._ts)}.000100"
            if method == "chat.postEphemeral":
                return {"message_ts": ts}
            return {"channel": channel, "ts": ts, "message": {"text": params.get("text", "")}}
        if method == "conversations.open":
            users = str(params.get("users", ""))
            return {"channel": {"id": "D" + users.split(",")[0].lstrip("U")}}
        if method in {"views.publish", "views.open", "views.update", "views.push"}:
            view = params.get("view")
            view = json.loads(view) if isinstance(view, str) else (view or {})
            return {"view": {**view, "id": f"V{next(self._ts)}", "hash": "h"}}
        if method == "users.info":
            user = self.users.get(str(params.get("user")))
            if not user:
                return {"ok": False, "error": "user_not_found"}
            if str(params.get("include_locale", "")).lower() not in {"true", "1"}:
                user = {k: v for k, v in user.items() if k != "locale"}
            return {"user": user}
        if method == "users.lookupByEmail":
            email = str(params.get("email", "")).lower()
            for user in self.users.values():
                if user["profile"]["email"].lower() == email:
                    return {"user": user}
            return {"ok": False, "error": "users_not_found"}
        return {}


def _handler_for(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8") if length else ""
            headers = {k.lower(): v for k, v in self.headers.items()}
            params = _parse_body(raw, headers.get("content-type", ""))
            if self.path.startswith("/respond/"):
                with standin._lock:
                    standin.calls.append(
                        Call("response_url", params, headers, time.monotonic(), 200)
                    )
                self._send(200, {"ok": True}, {})
                return
            method = self.path.removeprefix("/api/").split("?")[0]
            status, body, extra = standin._answer(method, params, headers)
            self._send(status, body, extra)

        do_GET = do_POST

        def _send(self, status: int, body: dict[str, Any], extra: dict[str, str]) -> None:
            send_json(self, status, body, extra)

        def log_message(self, *_args: object) -> None:  # keep test output quiet
            return

    return Handler


def _parse_body(raw: str, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        parsed = json.loads(raw)
        return parsed if isinstance(parsed, dict) else {"_": parsed}
    return dict(parse_qsl(raw, keep_blank_values=True))


@contextmanager
def running_standin(**kwargs: Any) -> Iterator[SlackStandIn]:
    standin = SlackStandIn(**kwargs).start()
    try:
        yield standin
    finally:
        standin.stop()
