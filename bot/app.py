"""The Bolt app, built by a factory: nothing here touches the network at import time."""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.http_retry import default_retry_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

import handlers
from bot.metrics import WORK_QUEUE_DEPTH, ScrapeGauge, add_scrape_gauge
from handlers.i18n import _, use_language
from handlers.slack.home_tab import republish_failed_homes
from handlers.slack.render_pool import RenderPool, attach_render_pool
from handlers.slack.safely import LISTENER_ERRORS, SORRY_TEXT
from handlers.slack.services import Services
from storage.health import database_health, describe, is_outage

logger = logging.getLogger(__name__)


class WorkPool(ThreadPoolExecutor):
    """The pool for work after an ack, which can tell when it has nothing left to do."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="salesbot-work")
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._pending += 1
        WORK_QUEUE_DEPTH.inc()
        # The work runs in a copy of this context: the request id follows it past the ack.
        context = contextvars.copy_context()
        try:
            future = super().submit(context.run, fn, *args, **kwargs)
        except BaseException:
            self._done()
            raise
        future.add_done_callback(lambda _f: self._done())
        return future

    def _done(self) -> None:
        WORK_QUEUE_DEPTH.dec()
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no work is queued or running; False if ``timeout`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)


def work_pool(app: App) -> WorkPool:
    """The pool running ``app``'s work after acks (tests and benchmarks wait on it)."""
    pool = app.listener_runner.listener_executor
    assert isinstance(pool, WorkPool), "the app was not made by create_app"
    return pool


class ConfigurationError(RuntimeError):
    """A token or secret the chosen mode needs is missing (the message says which)."""


def create_web_client(services: Services) -> WebClient:
    """A Web API client for ``SLACK_API_URL`` that waits out HTTP 429 instead of failing.

    Raises:
        ConfigurationError: If ``SLACK_BOT_TOKEN`` is not set.
    """
    token = services.settings.slack_bot_token
    if token is None or not token.get_secret_value():
        raise ConfigurationError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-...)")
    retry_handlers = [*default_retry_handlers(), RateLimitErrorRetryHandler(max_retry_count=2)]
    return WebClient(
        token=token.get_secret_value(),
        base_url=services.settings.slack_api_url,
        retry_handlers=retry_handlers,
        timeout=10,
    )


def create_app(services: Services, *, client: WebClient | None = None) -> App:
    """Build the Slack app with every surface registered.

    Listeners acknowledge in the request's own thread (``process_before_response``) and
    hand slow work to lazy listeners on a separate, sized pool, so slow work can never
    hold up an acknowledgement.

    Args:
        services: The store, settings and clock handed to every surface.
        client: A ready Web API client (tests point one at a stand-in); by default one is
            made from the settings.

    Raises:
        ConfigurationError: If HTTP mode has no signing secret, or there is no bot token.
    """
    settings = services.settings
    web_client = client if client is not None else create_web_client(services)
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    )
    if not secret:
        if settings.slack_mode == "http":
            raise ConfigurationError(
                "SLACK_SIGNING_SECRET is not set: HTTP mode cannot verify that requests "
                "come from Slack without it (Basic Information > App Credentials)"
            )
        # Socket Mode requests are not signed; a random secret makes any HTTP request fail.
        secret = secrets.token_hex(32)
    app = App(
        client=web_client,
        signing_secret=secret,
        token_verification_enabled=False,
        process_before_response=True,
        listener_executor=WorkPool(settings.worker_threads),
        logger=logging.getLogger("salesbot.slack"),
    )
    app.error(_plain_answers(settings.default_language))
    handlers.register_all(app, services)
    health = database_health(services.sessions)
    health.on_recovery(functools.partial(republish_failed_homes, services, web_client))
    add_scrape_gauge(
        ScrapeGauge(
            "salesbot_database_up",
            "1 unless the database failed and has not answered since.",
            lambda: 1.0 if health.up else 0.0,
        )
    )
    if settings.render_processes:
        # The workers open the very database the app's sessions use.
        engine = services.sessions.kw["bind"]
        url = engine.url.render_as_string(hide_password=False)
        attach_render_pool(services, RenderPool(url, settings.render_processes))
    return app


def _plain_answers(language: str) -> Callable[..., BoltResponse]:
    """The one error handler, answering in the workspace's default ``language`` (before the
    ack, who is asking may be unknown, and the database that says their language down)."""

    def answer_plainly(
        error: Exception,
        body: dict[str, Any],
        logger: logging.Logger,
        respond: Respond | None = None,
    ) -> BoltResponse:
        with use_language(language):
            return _answer_plainly(error, body, logger, respond)

    return answer_plainly


def _answer_plainly(
    error: Exception,
    body: dict[str, Any],
    logger: logging.Logger,
    respond: Respond | None = None,
) -> BoltResponse:
    """Log the trace, tell the user plainly, never show the trace.

    A database outage is one warning line per request (the outage itself is logged once).
    """
    LISTENER_ERRORS.labels(stage="ack").inc()
    if is_outage(error):
        logger.warning("a Slack request failed: database unavailable (%s)", describe(error))
    else:
        logger.exception("unhandled error in a Slack listener", exc_info=error)
    if body.get("command"):
        # A slash command's HTTP answer is shown to the user as an ephemeral message.
        answer = {"response_type": "ephemeral", "text": _(SORRY_TEXT)}
        return BoltResponse(
            status=200, body=json.dumps(answer), headers={"content-type": "application/json"}
        )
    if respond is not None and body.get("response_url"):
        try:
            respond(text=_(SORRY_TEXT), response_type="ephemeral", replace_original=False)
        except Exception:
            logger.exception("could not tell the user about the error")
    # Anything else (including junk no Slack client would send) gets a plain 500.
    return BoltResponse(status=500, body="")
