"""Serving the app: Socket Mode, or HTTP behind waitress (a threaded, production WSGI server).

HTTP mode answers ``POST /slack/events`` (every signed Slack request: commands,
interactivity, events), ``GET /health`` (200 when the database answers, else 503) and
``GET /metrics`` (Prometheus' text format). In Socket Mode the same ``/health`` and
``/metrics`` are served on a small HTTP port of their own (``SALESBOT_OPS_PORT``).

[choice] Socket Mode uses slack_sdk's ``websocket_client`` implementation, not the built-in
one: against the Socket Mode stand-in (tests/support/socket_mode.py) the built-in client took
60 s to notice a dropped connection and did not come back after a ``link_disabled``
disconnect, where ``websocket_client`` reconnected within a second in every case. The async
clients (``websockets``, ``aiohttp``) need Bolt's ``AsyncApp``; this app is a sync ``App``.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.websocket_client import SocketModeClient
from waitress.server import create_server

from bot.app import ConfigurationError
from bot.logs import request_context
from bot.metrics import ACK_SECONDS, CONTENT_TYPE, METRICS_PATH, exposition
from handlers.slack.services import AppSettings, Services
from storage.health import database_health

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from slack_sdk.socket_mode.client import BaseSocketModeClient
    from waitress.server import BaseWSGIServer, MultiSocketServer
    from websocket import WebSocketApp

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/health"
# Slack's payloads are small; refuse anything absurd before it is read.
MAX_BODY_BYTES = 1_048_576
SOCKET_CLOSE_SECONDS = 15.0


def database_is_healthy(services: Services) -> bool:
    """True when a trivial query succeeds (a change is logged once, not every check)."""
    return database_health(services.sessions).check()


# Signed requests -------------------------------------------------------------------------


def request_kind(body: bytes, content_type: str) -> str:
    """Which of Slack's request kinds a body is, in Socket Mode's names."""
    if "json" in content_type:
        return "events_api"
    return "interactive" if body.startswith(b"payload=") else "slash_commands"


def malformed(body: bytes, content_type: str) -> str | None:
    """Why a (signed) body is not a request Slack sends, or None when it is one.

    Only the shape the listeners rely on is checked, so that junk is refused here with a
    400 instead of failing inside Bolt with a 500 and a traceback.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if "json" in content_type:
        try:
            document = json.loads(text)
        except ValueError:
            return "the body is not JSON"
        if not isinstance(document, dict) or not isinstance(document.get("type"), str):
            return "the event is not an object with a type"
        if document["type"] == "event_callback":
            event = document.get("event")
            if not isinstance(event, dict) or not isinstance(event.get("type"), str):
                return "the event_callback's event is not an object with a type"
        return None
    form = parse_qs(text, keep_blank_values=True)
    if "ssl_check" in form:
        return None
    if "payload" in form:
        return _malformed_payload(form["payload"][0])
    if not form.get("command", [""])[0].startswith("/"):
        return "the form is neither a command nor a payload"
    return None


def _malformed_payload(raw: str) -> str | None:
    try:
        payload = json.loads(raw)
    except ValueError:
        return "the payload is not JSON"
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        return "the payload is not an object with a type"
    if payload["type"] == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not all(
            isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions
        ):
            return "the payload's actions are not a list of actions"
    if not isinstance(payload.get("user", {}), dict):
        return "the payload's user is not an object"
    return None


def _answer(
    start_response: StartResponse, status: str, body: bytes, content_type: str
) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def build_wsgi(
    app: App | None,
    health: Callable[[], bool],
    routes: dict[str, WSGIApplication] | None = None,
    *,
    signing_secret: str = "",
) -> WSGIApplication:
    """The WSGI application: ``/health``, ``/metrics``, ``routes`` (path -> application,
    e.g. HubSpot's webhooks) and (with ``app``) Slack's requests.

    A Slack request's signature is checked before Bolt sees the body (Bolt parses first):
    an unsigned or forged request gets 401, a signed one that is not a Slack request 400,
    neither a traceback nor its body in the log.
    """
    slack = SlackRequestHandler(app, path=EVENTS_PATH) if app is not None else None
    verifier = SignatureVerifier(signing_secret) if signing_secret else None
    routes = routes or {}

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if path in routes:
            return routes[path](environ, start_response)
        if path == HEALTH_PATH and method in {"GET", "HEAD"}:
            healthy = health()
            body = json.dumps({"status": "ok" if healthy else "unavailable"}).encode()
            status = "200 OK" if healthy else "503 Service Unavailable"
            return _answer(start_response, status, body, "application/json")
        if path == METRICS_PATH and method in {"GET", "HEAD"}:
            return _answer(start_response, "200 OK", exposition(), CONTENT_TYPE)
        if slack is None or verifier is None or path != EVENTS_PATH or method != "POST":
            return _answer(start_response, "404 Not Found", b"Not Found", "text/plain")
        with request_context():
            return _slack_request(environ, start_response, slack, verifier)

    return application


def _slack_request(
    environ: WSGIEnvironment,
    start_response: StartResponse,
    slack: SlackRequestHandler,
    verifier: SignatureVerifier,
) -> Iterable[bytes]:
    started = time.perf_counter()
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY_BYTES)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    if not _signed(verifier, body, environ):
        logger.info("refused a Slack request: missing, stale or wrong signature")
        return _answer(start_response, "401 Unauthorized", b"", "text/plain")
    content_type = environ.get("CONTENT_TYPE", "")
    problem = malformed(body, content_type)
    if problem is not None:
        logger.warning("refused a signed Slack request that is not one: %s", problem)
        return _answer(start_response, "400 Bad Request", b"", "text/plain")
    environ["wsgi.input"] = BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    answer = slack(environ, start_response)
    ACK_SECONDS.labels(kind=request_kind(body, content_type)).observe(time.perf_counter() - started)
    return answer


def _signed(verifier: SignatureVerifier, body: bytes, environ: WSGIEnvironment) -> bool:
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE")
    try:
        return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    except (ValueError, OverflowError):  # a timestamp that is not a number, a body not UTF-8
        return False


# HTTP servers ----------------------------------------------------------------------------


def make_http_server(
    app: App | None,
    services: Services,
    *,
    host: str,
    port: int,
    threads: int | None = None,
    routes: dict[str, WSGIApplication] | None = None,
) -> BaseWSGIServer | MultiSocketServer:
    """A waitress server (not yet running); port 0 picks a free one.

    With ``app``, it serves Slack's requests too (HTTP mode); without, only ``/health``
    and ``/metrics`` (the operations port of Socket Mode).

    Raises:
        ConfigurationError: If ``app`` is given and no signing secret is set.
    """
    secret = services.settings.slack_signing_secret
    secret_value = secret.get_secret_value() if secret is not None else ""
    if app is not None and not secret_value:
        raise ConfigurationError("SLACK_SIGNING_SECRET is not set: HTTP mode needs it")
    wsgi = build_wsgi(
        app, lambda: database_is_healthy(services), routes, signing_secret=secret_value
    )
    _freeze_start_up_heap()
    return create_server(
        wsgi,
        host=host,
        port=port,
        threads=threads or (services.settings.http_threads if app is not None else 2),
        ident="salesbot",
        max_request_body_size=MAX_BODY_BYTES,
    )


def _freeze_start_up_heap() -> None:
    """Move everything built at start-up out of the garbage collector's sight.

    The app's start-up heap (SQLAlchemy's mappers and compiled statements, Bolt, the Block
    Kit kit: some 200,000 objects) is never garbage, yet every full collection walked all of
    it, in whichever request thread happened to trigger one: a pause of tens of
    milliseconds before that request's ack (the ack benchmark's p99).
    """
    gc.collect()
    gc.freeze()


def stop_http_server(server: BaseWSGIServer | MultiSocketServer) -> None:
    """Stop a running waitress server from another thread, cleanly.

    Closing its sockets from outside races with its select loop; instead the loop is asked
    (through its trigger) to close everything itself, which ends ``run()``. Requests being
    answered finish first (the task dispatcher waits for its threads).
    """
    from waitress import wasyncore

    # The socket map and the trigger are waitress internals its type stubs do not declare.
    loop: Any = server
    socket_map = loop._map
    server.task_dispatcher.shutdown()
    loop.trigger.pull_trigger(lambda: wasyncore.close_all(socket_map))


class HttpService:
    """A waitress server running in a thread until ``stop()``."""

    def __init__(self, server: BaseWSGIServer | MultiSocketServer) -> None:
        self.server = server
        self._thread = threading.Thread(target=server.run, name="waitress", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.effective_port)  # type: ignore[union-attr]

    def start(self) -> HttpService:
        self._thread.start()
        return self

    def stop(self, timeout: float = SOCKET_CLOSE_SECONDS) -> None:
        stop_http_server(self.server)
        self._thread.join(timeout=timeout)


# Socket Mode -----------------------------------------------------------------------------


class _Client(SocketModeClient):
    """slack_sdk's websocket-client client, replacing or closing a connection without a stall.

    The connection's reader (the session runner's thread) waits in ``select()`` with a 10 s
    timeout. slack_sdk closes a connection from another thread: that thread reads Slack's
    close frame itself and closes the socket, and when it wins the race for that frame the
    reader is never woken (a socket closed under ``select()`` wakes nothing), so it noticed
    only at its timeout. Measured against the Socket Mode stand-in: a new connection after
    Slack's ``disconnect`` waited 10.5 s instead of 0.5 s, and about half the stops of the app
    took 10 s instead of under one. Here the reader is woken instead, by shutting its
    socket's reading side, and it closes the connection itself.
    """

    def connect(self) -> None:
        _wake_reader(self.current_session)
        super().connect()

    def end_session(self, timeout: float) -> bool:
        """Close the connection for good (with a close frame); False if ``timeout`` passed.

        Nothing may start a connection again, so reconnecting is off and the session runner
        is told to stop before the reader is woken: that runner would otherwise run the
        closed session again after half a second, opening a new connection at once.
        """
        self.auto_reconnect_enabled = False
        self.default_auto_reconnect_enabled = False
        runner = self.current_session_runner
        runner.event.set()
        deadline = time.monotonic() + timeout
        while runner.is_alive() and time.monotonic() < deadline:
            # Again each round: a session the runner had just begun is woken too.
            session = self.current_session
            if session is not None:
                session.keep_running = False  # the woken reader closes, not reads
            _wake_reader(session)
            runner.thread.join(0.05)
        return not runner.is_alive()

    def close(self) -> None:
        self.end_session(SOCKET_CLOSE_SECONDS)
        # Its thread waits up to a second for a message; an empty one wakes it now.
        self.message_processor.event.set()
        self.message_queue.put(None)
        super().close()


def _wake_reader(session: WebSocketApp | None) -> None:
    """Wake the thread reading ``session``'s socket (it sees end of input)."""
    raw = getattr(getattr(session, "sock", None), "sock", None)
    if raw is not None:
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_RD)


class _Handler(SocketModeHandler):
    """Bolt's handler, plus: no new work while draining, ack timing, a request id."""

    client: _Client

    def __init__(self, app: App, *, app_token: str, concurrency: int) -> None:
        # Bolt's own __init__ would start a stock client's threads; this one uses _Client.
        self.app = app
        self.app_token = app_token
        self.client = _Client(
            app_token=app_token, logger=app.logger, web_client=app.client, concurrency=concurrency
        )
        self.client.socket_mode_request_listeners.append(self.handle)
        self.draining = False
        self._in_flight = 0
        self._idle = threading.Condition()

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        with self._idle:
            if self.draining:
                # Not acknowledged: Slack sends events again to another connection.
                return
            self._in_flight += 1
        started = time.perf_counter()
        try:
            with request_context(req.envelope_id[:12] if req.envelope_id else None):
                super().handle(client, req)  # type: ignore[arg-type]
        finally:
            ACK_SECONDS.labels(kind=req.type).observe(time.perf_counter() - started)
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    # Bolt's connect, typed for the callers here.
    def connect(self) -> None:
        SocketModeHandler.connect(self)

    def drain(self, timeout: float) -> bool:
        """Take no new requests; wait for the acks in flight. False if ``timeout`` passed."""
        with self._idle:
            self.draining = True
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)


def app_token(settings: AppSettings) -> str:
    """The app-level token Socket Mode connects with.

    Raises:
        ConfigurationError: If ``SLACK_APP_TOKEN`` is not set.
    """
    token = settings.slack_app_token
    if token is None or not token.get_secret_value():
        raise ConfigurationError(
            "SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-...) "
            "with the connections:write scope; or set SALESBOT_SLACK_MODE=http"
        )
    return token.get_secret_value()


class SocketModeService:
    """One Socket Mode connection to Slack for ``app``, reconnecting by itself.

    Raises:
        ConfigurationError: If ``SLACK_APP_TOKEN`` is not set (at construction), or Slack
            refuses the token (at ``start()``).
    """

    def __init__(self, app: App, services: Services) -> None:
        self.handler = _Handler(
            app,
            app_token=app_token(services.settings),
            concurrency=max(10, services.settings.http_threads),
        )

    def start(self) -> SocketModeService:
        logger.info("connecting to Slack over Socket Mode")
        try:
            self.handler.connect()  # asks Slack for the URL now: a refused token shows here
        except SlackApiError as error:
            self.close()
            raise ConfigurationError(
                f"Slack refused the Socket Mode connection ({error.response.get('error', '?')}): "
                "check SLACK_APP_TOKEN (an xapp- token with connections:write)"
            ) from None
        logger.info("connected over Socket Mode")
        return self

    def stop_taking_requests(self, timeout: float) -> None:
        """Stop acknowledging new requests, let acks in flight finish, close the socket."""
        if not self.handler.drain(timeout):
            logger.warning("acknowledgements still running after %.0f s", timeout)
        if not self.handler.client.end_session(timeout):
            logger.warning("the Socket Mode connection did not close within %.0f s", timeout)

    def close(self, timeout: float = SOCKET_CLOSE_SECONDS) -> None:
        """Release the client's threads (bounded, should one of them hang)."""
        closing = threading.Thread(target=self.handler.close, name="socket-close", daemon=True)
        closing.start()
        closing.join(timeout=timeout)
