"""A local WebSocket server standing in for Slack's Socket Mode, written from Slack's docs.

How Slack's side behaves (docs: "Using Socket Mode"), and what this stand-in does alike:

- ``apps.connections.open`` (on the Web API stand-in, with the app-level token) answers a
  one-use ``url``; here ``ws://127.0.0.1:PORT/link/?ticket=N``.
- On connect the server sends ``{"type": "hello", "num_connections": n, ...}``.
- Requests arrive as envelopes: ``{"envelope_id", "type", "payload",
  "accepts_response_payload"}`` with ``type`` one of ``events_api``, ``slash_commands``,
  ``interactive``; ``events_api`` envelopes also carry ``retry_attempt`` and ``retry_reason``.
- The app acknowledges with ``{"envelope_id": ..., "payload": {...}}`` (the payload only where
  ``accepts_response_payload`` is true) within 3 seconds; a later ack counts for nothing.
- Each request goes to one of the app's open connections (at most 10 per app).
- Slack may send ``{"type": "disconnect", "reason": "refresh_requested" | "link_disabled"}``:
  the app opens a new connection; Slack closes the old one shortly after.
- An Events API envelope that was not acknowledged is delivered again (``retry_attempt`` + 1)
  on an open connection; commands and clicks are not (the user sees an error instead).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from tests.support.slack_api import SlackStandIn

ACK_DEADLINE_SECONDS = 3.0
APP_ID = "A0TEST"
# Payload kinds that may carry a response in their ack (Slack's ``accepts_response_payload``).
_RESPONDS = {"slash_commands"}
_RESPONDING_INTERACTIONS = {"view_submission", "block_suggestion"}


@dataclass
class Envelope:
    """One request sent over a socket, and how (whether) it was acknowledged."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    retry_attempt: int = 0
    sent_at: float = 0.0
    connection: int = 0
    acked_at: float | None = None
    ack_payload: dict[str, Any] | None = None
    acks: int = 0
    # Lost with its connection and sent again as a new envelope (events only).
    redelivered: bool = False

    @property
    def acknowledged(self) -> bool:
        """Acknowledged within Slack's deadline, as Slack would count it."""
        return self.acked_at is not None and self.acked_at - self.sent_at <= ACK_DEADLINE_SECONDS

    def message(self) -> str:
        body: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.type == "events_api":
            body["retry_attempt"] = self.retry_attempt
            body["retry_reason"] = "timeout" if self.retry_attempt else ""
        return json.dumps(body)


@dataclass
class _Link:
    number: int
    websocket: ServerConnection
    open: bool = True
    # Acks from this link are lost on the wire (the connection is about to break).
    deaf: bool = False


@dataclass
class SocketModeStandIn:
    """The WebSocket side of Slack; ``start()`` also wires ``apps.connections.open``."""

    web_api: SlackStandIn
    envelopes: list[Envelope] = field(default_factory=list)
    connects: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._links: list[_Link] = []
        self._tickets = itertools.count(1)
        self._round_robin = itertools.count()
        self._server: Server | None = None
        self.unknown_acks: list[str] = []
        # How each connection ended: 1000 for a clean close by the app, None for a cut.
        self.close_codes: list[int | None] = []

    # Lifecycle ----------------------------------------------------------------------

    def start(self) -> SocketModeStandIn:
        # No compression: Slack's endpoint offers none, and the clients differ on it.
        server = serve(
            self._serve, "127.0.0.1", 0, compression=None, ping_interval=None, close_timeout=1
        )
        self._server = server
        threading.Thread(target=server.serve_forever, name="socket-standin", daemon=True).start()
        self.web_api.respond("apps.connections.open", self._open)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def __enter__(self) -> SocketModeStandIn:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _open(self, params: dict[str, Any]) -> dict[str, Any]:
        assert self._server is not None
        port = self._server.socket.getsockname()[1]
        return {"url": f"ws://127.0.0.1:{port}/link/?ticket={next(self._tickets)}&app_id={APP_ID}"}

    # Connections --------------------------------------------------------------------

    def _serve(self, websocket: ServerConnection) -> None:
        with self._lock:
            self.connects += 1
            link = _Link(self.connects, websocket)
            self._links.append(link)
            count = len(self.open_links())
        websocket.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": count,
                    "debug_info": {"host": "standin", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        with self._lock:
            self._lock.notify_all()
        try:
            for raw in websocket:
                if not link.deaf:
                    self._acknowledge(str(raw))
        except ConnectionClosed:
            pass
        finally:
            self._closed(link)

    def _acknowledge(self, raw: str) -> None:
        ack = json.loads(raw)
        now = time.monotonic()
        with self._lock:
            envelope = next(
                (e for e in self.envelopes if e.envelope_id == ack.get("envelope_id")), None
            )
            if envelope is None:
                self.unknown_acks.append(raw)
                return
            envelope.acks += 1
            if envelope.acked_at is None:
                envelope.acked_at = now
                envelope.ack_payload = ack.get("payload")
            self._lock.notify_all()

    def _closed(self, link: _Link) -> None:
        with self._lock:
            link.open = False
            received = link.websocket.protocol.close_rcvd
            self.close_codes.append(received.code if received is not None else None)
            lost = [
                e
                for e in self.envelopes
                if e.connection == link.number and e.acked_at is None and e.type == "events_api"
            ]
            self._lock.notify_all()
        for envelope in lost:  # Slack retries unacknowledged events on another connection
            threading.Thread(target=self._redeliver, args=(envelope,), daemon=True).start()

    def _redeliver(self, envelope: Envelope) -> None:
        self.send(envelope.type, envelope.payload, retry_attempt=envelope.retry_attempt + 1)
        with self._lock:
            envelope.redelivered = True
            self._lock.notify_all()

    def open_links(self) -> list[_Link]:
        return [link for link in self._links if link.open]

    def wait_connections(self, count: int, timeout: float = 30.0) -> list[int]:
        """Wait until ``count`` connections are open; return their numbers."""
        with self._lock:
            ok = self._lock.wait_for(lambda: len(self.open_links()) >= count, timeout=timeout)
            assert ok, f"expected {count} open connection(s), have {len(self.open_links())}"
            return [link.number for link in self.open_links()]

    # Requests -----------------------------------------------------------------------

    def send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        connection: int | None = None,
        retry_attempt: int = 0,
        timeout: float = 30.0,
    ) -> Envelope:
        """Send one envelope on ``connection`` (default: the open ones in turn)."""
        responds = kind in _RESPONDS or (
            kind == "interactive" and payload.get("type") in _RESPONDING_INTERACTIONS
        )
        envelope = Envelope(str(uuid.uuid4()), kind, payload, responds, retry_attempt)
        with self._lock:
            assert self._lock.wait_for(lambda: self.open_links(), timeout=timeout), (
                "no open Socket Mode connection"
            )
            links = self.open_links()
            link = (
                next(x for x in links if x.number == connection)
                if connection is not None
                else links[next(self._round_robin) % len(links)]
            )
            envelope.connection = link.number
            envelope.sent_at = time.monotonic()
            self.envelopes.append(envelope)
        # On a closed link, _closed() redelivers events; the user of a command sees an error.
        with contextlib.suppress(ConnectionClosed):
            link.websocket.send(envelope.message())
        return envelope

    def wait_ack(self, envelope: Envelope, timeout: float = 30.0) -> Envelope:
        """Wait for ``envelope``'s ack (or ``timeout``); return it either way."""
        with self._lock:
            self._lock.wait_for(lambda: envelope.acked_at is not None, timeout=timeout)
        return envelope

    def wait_all_acked(self, timeout: float = 30.0) -> None:
        with self._lock:
            ok = self._lock.wait_for(
                lambda: all(e.acked_at is not None or e.redelivered for e in self.envelopes),
                timeout=timeout,
            )
            assert ok, [e.envelope_id for e in self.envelopes if e.acked_at is None]

    def disconnect(self, reason: str, *, connection: int | None = None) -> None:
        """Send Slack's ``disconnect`` message; close the old link once a new one is open."""
        with self._lock:
            link = self._pick(connection)
            before = self.connects
        link.websocket.send(
            json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "standin"}})
        )
        with self._lock:
            self._lock.wait_for(lambda: self.connects > before, timeout=30.0)
        threading.Thread(target=link.websocket.close, daemon=True).start()

    def drop(
        self, *, connection: int | None = None, in_flight: tuple[str, dict[str, Any]] | None = None
    ) -> Envelope | None:
        """Cut a connection abruptly: no close frame, the TCP connection just ends.

        Args:
            connection: Which one (default: the oldest open one).
            in_flight: An envelope ``(kind, payload)`` sent on it just before the cut, whose
                ack (if the app manages one) is lost with the connection.
        """
        with self._lock:
            link = self._pick(connection)
            link.deaf = True
        envelope = None
        if in_flight is not None:
            envelope = self.send(*in_flight, connection=link.number)
        link.websocket.socket.shutdown(socket.SHUT_RDWR)
        return envelope

    def _pick(self, connection: int | None) -> _Link:
        links = self.open_links()
        assert links, "no open Socket Mode connection"
        if connection is None:
            return links[0]
        return next(x for x in links if x.number == connection)


@contextmanager
def running_socket_standin(web_api: SlackStandIn) -> Iterator[SocketModeStandIn]:
    standin = SocketModeStandIn(web_api).start()
    try:
        yield standin
    finally:
        standin.stop()
