"""HubSpot's webhook deliveries: batches of events POSTed to a URL, signed (v3 and v1).

From HubSpot's "Validating requests" guide and the v3 changelog: ``X-HubSpot-Signature-v3``
is base64(HMAC-SHA256(client secret, method + URI + body + timestamp)) with the timestamp (ms)
in ``X-HubSpot-Request-Timestamp``; receivers refuse timestamps older than 5 minutes. The
older ``X-HubSpot-Signature`` (v1: SHA-256 hex of secret + body) is sent alongside, as HubSpot
does. A delivery carries at most 100 events.

Bad deliveries for tests: ``forge=True`` signs with another secret, ``stale=True`` dates the
request 6 minutes back, and ``Delivery.resend()`` replays the exact same request.
``receiving(app, path)`` serves a receiver (any WSGI app) on a local port to deliver to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.types import WSGIApplication

from demo.hubspot_portal.schema import object_type

MAX_EVENTS_PER_DELIVERY = 100
STALE_MS = 6 * 60 * 1000


def sign_v3(client_secret: str, method: str, uri: str, body: str, timestamp_ms: int) -> str:
    """The ``X-HubSpot-Signature-v3`` value for one request."""
    message = f"{method}{uri}{body}{timestamp_ms}".encode()
    digest = hmac.new(client_secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign_v1(client_secret: str, body: str) -> str:
    return hashlib.sha256(f"{client_secret}{body}".encode()).hexdigest()


@dataclass
class Delivery:
    """One signed POST: what was sent and how the receiver answered (0: no answer)."""

    url: str
    body: str
    headers: dict[str, str]
    status: int = 0

    @property
    def events(self) -> list[dict[str, Any]]:
        parsed: list[dict[str, Any]] = json.loads(self.body)
        return parsed

    def send(self, timeout: float = 10.0) -> int:
        request = urllib.request.Request(
            self.url, data=self.body.encode(), headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                self.status = answer.status
        except urllib.error.HTTPError as refused:
            self.status = refused.code
        except (urllib.error.URLError, OSError):
            self.status = 0
        return self.status

    def resend(self) -> int:
        """Replay the very same request (same body, signature and timestamp)."""
        return self.send()


def signed_delivery(
    url: str,
    events: list[dict[str, Any]],
    *,
    client_secret: str,
    timestamp_ms: int | None = None,
    forge: bool = False,
    stale: bool = False,
) -> Delivery:
    """A delivery of ``events`` to ``url``, signed as HubSpot signs (not sent yet)."""
    body = json.dumps(events, separators=(",", ":"))
    stamp = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    if stale:
        stamp -= STALE_MS
    secret = client_secret + "-forged" if forge else client_secret
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) (stand-in)",
        "X-HubSpot-Request-Timestamp": str(stamp),
        "X-HubSpot-Signature-v3": sign_v3(secret, "POST", url, body, stamp),
        "X-HubSpot-Signature-Version": "v1",
        "X-HubSpot-Signature": sign_v1(secret, body),
    }
    return Delivery(url, body, headers)


def legacy(event: dict[str, Any]) -> dict[str, Any]:
    """A generic event as the older per-object subscriptions send it.

    ``object.propertyChange`` on ``0-1`` becomes ``contact.propertyChange`` without an
    ``objectTypeId``; association events name the pair (``associationType``) instead.
    """
    kind = object_type(str(event.get("objectTypeId", "")))
    action = str(event["subscriptionType"]).removeprefix("object.")
    converted = {k: v for k, v in event.items() if k not in ("objectTypeId", "changeFlag")}
    converted["subscriptionType"] = f"{kind.singular if kind else 'object'}.{action}"
    return converted


def deliver(
    url: str,
    events: Iterable[dict[str, Any]],
    *,
    client_secret: str,
    forge: bool = False,
    stale: bool = False,
    batch_size: int = MAX_EVENTS_PER_DELIVERY,
    legacy_format: bool = False,
) -> list[Delivery]:
    """POST ``events`` to ``url`` in signed batches; returns the deliveries, with statuses.

    ``legacy_format=True`` sends them as per-object subscriptions do (``contact.creation``).
    """
    pending = [legacy(e) for e in events] if legacy_format else list(events)
    deliveries = []
    for start in range(0, len(pending), batch_size):
        delivery = signed_delivery(
            url,
            pending[start : start + batch_size],
            client_secret=client_secret,
            forge=forge,
            stale=stale,
        )
        delivery.send()
        deliveries.append(delivery)
    return deliveries


class _Quiet(WSGIRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def receiving(app: WSGIApplication, path: str) -> Iterator[str]:
    """``app`` (the receiver of deliveries) on a local port; yields the URL of ``path``."""
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    # A short poll: stopping the server at the end waits at most this long.
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{path}"
    finally:
        server.shutdown()
        server.server_close()
