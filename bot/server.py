"""Serving the app: Socket Mode, or HTTP behind waitress (a threaded, production WSGI server).

HTTP mode answers two paths: ``POST /slack/events`` (every signed Slack request: commands,
interactivity, events) and ``GET /health`` (200 when the database answers, else 503).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.errors import SlackApiError
from sqlalchemy import text
from waitress.server import create_server

from bot.app import ConfigurationError
from handlers.slack.services import Services

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from waitress.server import BaseWSGIServer, MultiSocketServer

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/health"


def database_is_healthy(services: Services) -> bool:
    """True when a trivial query succeeds."""
    try:
        with services.sessions() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:
        logger.exception("health check: the database does not answer")
        return False


def build_wsgi(
    app: App, health: Callable[[], bool], routes: dict[str, WSGIApplication] | None = None
) -> WSGIApplication:
    """The WSGI application: Slack's requests to Bolt, ``/health`` to ``health()``, and
    ``routes`` (path -> application, e.g. HubSpot's webhooks) to theirs."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    routes = routes or {}

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in routes:
            return routes[path](environ, start_response)
        if path == HEALTH_PATH and environ.get("REQUEST_METHOD") in {"GET", "HEAD"}:
            healthy = health()
            body = json.dumps({"status": "ok" if healthy else "unavailable"}).encode()
            status = "200 OK" if healthy else "503 Service Unavailable"
            start_response(
                status,
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return slack(environ, start_response)

    return application


def make_http_server(
    app: App,
    services: Services,
    *,
    host: str,
    port: int,
    threads: int | None = None,
    routes: dict[str, WSGIApplication] | None = None,
) -> BaseWSGIServer | MultiSocketServer:
    """A waitress server (not yet running) for ``app``; port 0 picks a free one.

    Raises:
        ConfigurationError: If no signing secret is set.
    """
    secret = services.settings.slack_signing_secret
    if secret is None or not secret.get_secret_value():
        raise ConfigurationError("SLACK_SIGNING_SECRET is not set: HTTP mode needs it")
    wsgi = build_wsgi(app, lambda: database_is_healthy(services), routes)
    return create_server(
        wsgi,
        host=host,
        port=port,
        threads=threads or services.settings.http_threads,
        ident="salesbot",
        # Slack's payloads are small; refuse anything absurd before it is read.
        max_request_body_size=1_048_576,
    )


def stop_http_server(server: BaseWSGIServer | MultiSocketServer) -> None:
    """Stop a running waitress server from another thread, cleanly.

    Closing its sockets from outside races with its select loop; instead the loop is asked
    (through its trigger) to close everything itself, which ends ``run()``.
    """
    from waitress import wasyncore

    # The socket map and the trigger are waitress internals its type stubs do not declare.
    loop: Any = server
    socket_map = loop._map
    server.task_dispatcher.shutdown()
    loop.trigger.pull_trigger(lambda: wasyncore.close_all(socket_map))


def serve_http(
    app: App, services: Services, routes: dict[str, WSGIApplication] | None = None
) -> None:
    """Serve HTTP mode on the configured host and port until interrupted."""
    settings = services.settings
    server = make_http_server(app, services, host=settings.host, port=settings.port, routes=routes)
    logger.info(
        "serving Slack requests on http://%s:%s%s", settings.host, settings.port, EVENTS_PATH
    )
    server.run()


def serve_socket(app: App, services: Services) -> None:
    """Connect over Socket Mode with the app-level token and run until interrupted.

    Raises:
        ConfigurationError: If ``SLACK_APP_TOKEN`` is not set.
    """
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    token = services.settings.slack_app_token
    if token is None or not token.get_secret_value():
        raise ConfigurationError(
            "SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-...) "
            "with the connections:write scope; or set SALESBOT_SLACK_MODE=http"
        )
    handler: Any = SocketModeHandler(
        app, app_token=token.get_secret_value(), web_client=app.client, concurrency=10
    )
    logger.info("connecting to Slack over Socket Mode")
    try:
        handler.connect()
    except SlackApiError as error:
        raise ConfigurationError(
            f"Slack refused the Socket Mode connection ({error.response.get('error', '?')}): "
            "check SLACK_APP_TOKEN (an xapp- token with connections:write)"
        ) from None
    logger.info("connected over Socket Mode; Ctrl-C stops")
    try:
        threading.Event().wait()  # the client's own threads do the work
    finally:
        handler.close()
