"""Running ``salesbot serve`` until SIGTERM or SIGINT, then stopping without losing work.

The order of a stop matters, each step bounded by ``SALESBOT_SHUTDOWN_SECONDS``:

1. take no new requests: Socket Mode stops acknowledging (Slack re-sends unacknowledged
   events to another replica's connection), lets acks in flight finish and closes the
   socket with a close frame; HTTP mode closes its listener after answering what it holds;
2. stop the digest scheduler: nothing more is claimed, sends in flight finish, and claims
   not yet sent are released so another replica's next tick sends them at once; stop the
   HubSpot sync and release its lease (a sync still running stops at its next renewal);
3. let the work after acks finish (Home tabs, answers, insights);
4. close the operations port and the Socket Mode client's threads; exit 0.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING

from slack_bolt import App

from bot.app import work_pool
from bot.jobs import BackgroundJobs
from bot.server import HttpService, SocketModeService, make_http_server
from bot.settings import Settings
from handlers.slack.render_pool import render_pool
from handlers.slack.services import Services

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

    from bot.hubspot import HubSpotWorker

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_SIGNAL_POLL_SECONDS = 0.5


@dataclass
class Running:
    """What ``serve`` started, in the order it is stopped."""

    app: App
    services: Services
    settings: Settings
    socket: SocketModeService | None = None
    http: HttpService | None = None
    jobs: BackgroundJobs | None = None
    hubspot: HubSpotWorker | None = None
    stopped: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        """Stop gracefully within the configured bound (see the module's docstring)."""
        grace = self.settings.shutdown_seconds
        deadline = time.monotonic() + grace

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        if self.socket is not None:
            self.socket.stop_taking_requests(timeout=min(left(), 5.0))
        elif self.http is not None:
            self.http.stop(timeout=left())
        if self.jobs is not None:
            _bounded(self.jobs.shutdown, left(), "the background jobs")
        if self.hubspot is not None:
            _bounded(self.hubspot.stop, left(), "the HubSpot sync")
        if not work_pool(self.app).wait_idle(left()):
            logger.warning("work after acks still running after %.0f s: exiting anyway", grace)
        work_pool(self.app).shutdown(wait=False, cancel_futures=True)
        pool = render_pool(self.services)
        if pool is not None:
            pool.shutdown()
        if self.socket is not None:
            if self.http is not None:
                self.http.stop(timeout=left())
            self.socket.close(timeout=left())
        logger.info("stopped")
        self.stopped.set()


def _bounded(step: Callable[[], None], timeout: float, what: str) -> None:
    thread = threading.Thread(target=step, name=f"stop {what}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        logger.warning("%s did not stop within %.0f s", what, timeout)


def start(
    app: App,
    services: Services,
    settings: Settings,
    jobs: BackgroundJobs | None,
    *,
    hubspot: HubSpotWorker | None = None,
    routes: dict[str, WSGIApplication] | None = None,
) -> Running:
    """Start the configured transport (and, in Socket Mode, the operations port).

    ``routes`` (HubSpot's webhooks) are served in HTTP mode, beside ``/slack/events``.
    """
    running = Running(app=app, services=services, settings=settings, jobs=jobs, hubspot=hubspot)
    if settings.slack_mode == "http":
        server = make_http_server(
            app, services, host=settings.host, port=settings.port, routes=routes
        )
        running.http = HttpService(server).start()
        logger.info(
            "serving Slack requests on http://%s:%s/slack/events (and /health, /metrics)",
            settings.host,
            running.http.port,
        )
        return running
    running.socket = SocketModeService(app, services).start()
    ops_port = settings.effective_ops_port
    if ops_port:
        running.http = HttpService(
            make_http_server(None, services, host=settings.host, port=ops_port)
        ).start()
        logger.info("serving /health and /metrics on http://%s:%s", settings.host, ops_port)
    return running


def serve_until_signalled(
    app: App,
    services: Services,
    settings: Settings,
    jobs: BackgroundJobs | None,
    *,
    hubspot: HubSpotWorker | None = None,
    routes: dict[str, WSGIApplication] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully (the caller exits 0)."""
    stop_requested = threading.Event()

    def on_signal(number: int, _frame: FrameType | None) -> None:
        if not stop_requested.is_set():
            logger.info("%s received: stopping", signal.Signals(number).name)
        stop_requested.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        running = start(app, services, settings, jobs, hubspot=hubspot, routes=routes)
        # Never a wait without a timeout: the kernel may hand the signal to one of the
        # service threads, and Python runs ``on_signal`` only when this thread wakes.
        while not stop_requested.wait(_SIGNAL_POLL_SECONDS):
            pass
        running.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
