"""The app running for real: waitress on a loopback port, signed requests, a stand-in Slack.

``RunningApp`` posts requests the way Slack does (signed, form-encoded or JSON) to the
app's real HTTP endpoint and lets a test read what the stand-in Web API received. Use the
``running_app`` fixture (tests/handlers/conftest.py) or ``start_app`` directly.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from slack_bolt import App
from sqlalchemy import Engine
from waitress.server import BaseWSGIServer

from bot.app import create_app, work_pool
from bot.server import SocketModeService, make_http_server, request_kind, stop_http_server
from bot.settings import Settings, load_settings
from handlers.slack.render_pool import render_pool
from handlers.slack.services import Services
from storage.db import session_factory
from tests.support.signing import event_body, interaction_body, signed_headers, slash_command_body
from tests.support.slack_api import SlackStandIn
from tests.support.socket_mode import SocketModeStandIn

APP_TOKEN = "xapp-1-test-app-token-never-logged"

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
# Bounds on waits, not expected durations: every wait returns as soon as its condition holds.
# They are generous because CI and developer machines run the suite on two loaded cores; a
# request or a settle that needs more than a minute is a hang, not slowness.
WAIT_SECONDS = 60.0
BOT_TOKEN = "xoxb-test-token-never-logged"


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RunningApp:
    """An app served on ``url`` against ``slack``, on the database behind ``services``."""

    url: str
    slack: SlackStandIn
    services: Services
    app: App
    signing_secret: str = SIGNING_SECRET
    # Set when the app is connected over Socket Mode: requests then travel as envelopes.
    socket: SocketModeStandIn | None = None
    _responses: dict[str, int] = field(default_factory=dict)

    # Raw requests ----------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
    ) -> HttpAnswer:
        parts = urlsplit(self.url)
        assert parts.hostname is not None
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=WAIT_SECONDS)
        try:
            connection.request(method, path, body=body.encode(), headers=headers or {})
            response = connection.getresponse()
            return HttpAnswer(
                status=response.status,
                body=response.read().decode(),
                headers={k.lower(): v for k, v in response.getheaders()},
            )
        finally:
            connection.close()

    def post_signed(
        self,
        body: str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
        settle: bool = True,
    ) -> HttpAnswer:
        """POST ``body`` to /slack/events, signed (with ``secret``, default the app's).

        Args:
            body: The raw body, as Slack would send it.
            content_type: Form for commands and interactivity, JSON for events.
            timestamp: The signed timestamp (default: now); an old one tests replay refusal.
            secret: Sign with another secret to forge a request.
            headers: Extra headers (e.g. ``x-slack-retry-num``).
            settle: Wait until the work after the ack has finished before returning.
        """
        if self.socket is not None:
            answer = self._over_socket(self.socket, body, content_type, headers or {})
        else:
            all_headers = signed_headers(
                secret or self.signing_secret, body, timestamp=timestamp, content_type=content_type
            )
            all_headers.update(headers or {})
            answer = self.request("POST", "/slack/events", body, all_headers)
        if settle:
            self.settle()
        return answer

    def _over_socket(
        self, socket: SocketModeStandIn, body: str, content_type: str, headers: dict[str, str]
    ) -> HttpAnswer:
        """The same request as Socket Mode delivers it: an envelope, answered by an ack."""
        kind = request_kind(body.encode(), content_type)
        form = dict(parse_qsl(body, keep_blank_values=True))
        read: dict[str, Callable[[], Any]] = {
            "events_api": lambda: json.loads(body),
            "interactive": lambda: json.loads(form["payload"]),
            "slash_commands": lambda: form,
        }
        payload = read[kind]()
        retry = int(headers.get("x-slack-retry-num", 0))
        envelope = socket.wait_ack(
            socket.send(kind, payload, retry_attempt=retry), timeout=WAIT_SECONDS
        )
        # Slack counts a late ack as none: the user sees an error, an event is sent again.
        status = 200 if envelope.acknowledged else 504
        text = json.dumps(envelope.ack_payload) if envelope.ack_payload else ""
        return HttpAnswer(status=status, body=text, headers={})

    def settle(self, timeout: float = WAIT_SECONDS) -> None:
        """Wait until every piece of work started after an ack has finished."""
        assert work_pool(self.app).wait_idle(timeout), "work after the ack did not finish"

    # Slack's request kinds ---------------------------------------------------------------

    def slash(self, text: str, *, user_id: str, command: str = "/sales", **kw: Any) -> HttpAnswer:
        """Run ``/sales text`` as ``user_id``; the answer goes to ``slack.response_url()``."""
        body = slash_command_body(
            command, text, user_id=user_id, response_url=self.slack.response_url("cmd")
        )
        return self.post_signed(body, **kw)

    def block_action(
        self,
        *,
        user_id: str,
        action_id: str,
        value: str | None = None,
        selected_option: str | None = None,
        in_home: bool = True,
        view: dict[str, Any] | None = None,
        block_id: str = "b",
        **kw: Any,
    ) -> HttpAnswer:
        """Click a button (``value``) or choose a select option (``selected_option``).

        ``in_home`` puts the click on the Home tab (``container.type == "view"``); else on
        an ephemeral message with a ``response_url`` pointing at the stand-in.
        """
        action: dict[str, Any] = {"action_id": action_id, "block_id": block_id}
        if selected_option is not None:
            action.update(
                type="static_select",
                selected_option={
                    "value": selected_option,
                    "text": {"type": "plain_text", "text": "x"},
                },
            )
        else:
            action.update(type="button", value=value, text={"type": "plain_text", "text": "x"})
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user_id, "team_id": self.slack.team_id},
            "team": {"id": self.slack.team_id},
            "api_app_id": "A0TEST",
            "trigger_id": "111.222.abc",
            "actions": [action],
        }
        if in_home:
            payload["container"] = {"type": "view", "view_id": "V1"}
            payload["view"] = view or {"id": "V1", "type": "home", "private_metadata": ""}
        else:
            payload["container"] = {"type": "message", "is_ephemeral": True}
            payload["channel"] = {"id": "C0TEST"}
            payload["response_url"] = self.slack.response_url("action")
        return self.post_signed(interaction_body(payload), **kw)

    def view_submission(
        self,
        *,
        user_id: str,
        callback_id: str,
        values: dict[str, Any],
        private_metadata: str = "",
        **kw: Any,
    ) -> HttpAnswer:
        payload = {
            "type": "view_submission",
            "user": {"id": user_id, "team_id": self.slack.team_id},
            "team": {"id": self.slack.team_id},
            "api_app_id": "A0TEST",
            "trigger_id": "111.222.abc",
            "view": {
                "id": "VMODAL",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": values},
            },
        }
        return self.post_signed(interaction_body(payload), **kw)

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str = "Ev0001",
        retry_num: int | None = None,
        **kw: Any,
    ) -> HttpAnswer:
        headers = dict(kw.pop("headers", {}) or {})
        if retry_num is not None:
            headers.update(
                {"x-slack-retry-num": str(retry_num), "x-slack-retry-reason": "http_timeout"}
            )
        return self.post_signed(
            event_body(event, event_id=event_id, team_id=self.slack.team_id),
            content_type="application/json",
            headers=headers,
            **kw,
        )

    def open_home(self, user_id: str, *, event_id: str = "EvHome", **kw: Any) -> HttpAnswer:
        return self.event(
            {"type": "app_home_opened", "user": user_id, "channel": "D0" + user_id, "tab": "home"},
            event_id=event_id,
            **kw,
        )

    # What Slack received ---------------------------------------------------------------

    def published_home(self, user_id: str) -> dict[str, Any]:
        """The last Home view published for ``user_id``."""
        calls = [
            c for c in self.slack.calls_to("views.publish") if c.params.get("user_id") == user_id
        ]
        assert calls, f"no Home tab was published for {user_id}"
        view: dict[str, Any] = calls[-1].json_param("view")
        return view

    def responses(self) -> list[dict[str, Any]]:
        """Everything posted to response_urls (ephemeral answers), oldest first."""
        return [c.params for c in self.slack.calls_to("response_url")]


def app_settings(slack: SlackStandIn, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_signing_secret": SIGNING_SECRET,
        "slack_bot_token": BOT_TOKEN,
        "slack_api_url": slack.api_url,
        "slack_mode": "http",
        "worker_threads": 8,
        "http_threads": 8,
        "render_processes": 0,
    }
    values.update(overrides)
    return load_settings(**values)


@contextmanager
def start_app(
    engine: Engine,
    slack: SlackStandIn,
    *,
    clock: Callable[[], datetime],
    register: Callable[[App, Services], None] | None = None,
    socket: SocketModeStandIn | None = None,
    routes: Callable[[App, Services], dict[str, Any]] | None = None,
    **settings: Any,
) -> Iterator[RunningApp]:
    """Serve a fresh app on a free loopback port until the block ends.

    Args:
        engine: The (migrated) database the app uses.
        slack: A started stand-in; the app's Web API calls go there.
        clock: The app's "now".
        register: Extra listeners to wire (e.g. a trivial one for a benchmark floor).
        socket: A started Socket Mode stand-in: the app connects over Socket Mode and the
            requests travel over it; else they are signed HTTP requests.
        routes: Extra WSGI routes of the server (path -> application), e.g. HubSpot's webhooks.
        settings: Overrides of ``app_settings``.
    """
    if socket is not None:
        settings = {"slack_mode": "socket", "slack_app_token": APP_TOKEN, **settings}
    services = Services(
        sessions=session_factory(engine), settings=app_settings(slack, **settings), clock=clock
    )
    app = create_app(services)
    pool = render_pool(services)
    if pool is not None:
        pool.warm_up()
    if register is not None:
        register(app, services)
    connection = SocketModeService(app, services).start() if socket is not None else None
    if socket is not None:
        socket.wait_connections(1)
    extra = routes(app, services) if routes is not None else None
    server = make_http_server(
        None if socket is not None else app, services, host="127.0.0.1", port=0, routes=extra
    )
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    assert isinstance(server, BaseWSGIServer)  # one host and port: a single-socket server
    port = int(server.getsockname()[1])  # the port 0 picked
    try:
        yield RunningApp(
            url=f"http://127.0.0.1:{port}", slack=slack, services=services, app=app, socket=socket
        )
    finally:
        work_pool(app).wait_idle(WAIT_SECONDS)
        if connection is not None:
            connection.stop_taking_requests(timeout=WAIT_SECONDS)
            connection.close()
        stop_http_server(server)
        thread.join(timeout=WAIT_SECONDS)
        work_pool(app).shutdown(wait=True)
        pool = render_pool(services)
        if pool is not None:
            pool.shutdown()
        _wait_closed(port)


def _wait_closed(port: int, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=0.2)
            connection.request("GET", "/health")
            connection.close()
        except OSError:
            return
        time.sleep(0.02)
