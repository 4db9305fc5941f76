"""The stand-in's HTTP side: a local threaded server answering HubSpot's API over a ``Portal``.

Point ``HubSpot(access_token=standin.token, host=standin.base_url)`` at it. On the way to an
endpoint a request meets, in order: injected faults (dropped connection, 5xx, delay), the
bearer token (401), the private app's scopes (403 MISSING_SCOPES), and the portal's rate
limits (429 naming the policy). Every answer carries the ``X-HubSpot-RateLimit-*`` headers,
and every request is counted by endpoint for tests and the benchmark.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from demo.hubspot_portal import api, webhooks
from demo.hubspot_portal.limits import RateLimits
from demo.hubspot_portal.local_server import LocalServer, send_json
from demo.hubspot_portal.portal import Portal, PortalError
from demo.hubspot_portal.schema import OBJECT_TYPES, schema_write_scope

ALL_SCOPES = frozenset(
    {scope for kind in OBJECT_TYPES for scope in (*kind.read_scopes, *kind.write_scopes)}
    | {schema_write_scope(kind) for kind in OBJECT_TYPES}
    | {"crm.objects.owners.read", "settings.users.read", "oauth"}
)


@dataclass(frozen=True)
class Request:
    """One request the stand-in answered."""

    method: str
    path: str
    endpoint: str  # "objects.search", "owners.list", ... ("unknown" for no route)
    object_type: str | None  # "contacts", ... (the from-type for associations)
    status: int
    at: float  # time.monotonic()
    body: Any = None


@dataclass
class _Fault:
    kind: str  # "status", "status_after", "drop" or "delay"
    times: int
    endpoint: str | None
    status: int = 502
    seconds: float = 0.0


@dataclass
class HubSpotStandIn(LocalServer):
    """The stand-in server; use as a context manager or call ``start()``/``stop()``.

    ``base_url`` is what ``HubSpot(host=...)`` and ``SALESBOT_HUBSPOT_API_URL`` take.
    """

    portal: Portal = field(default_factory=Portal)
    token: str = "pat-standin-0000"
    scopes: set[str] = field(default_factory=lambda: set(ALL_SCOPES))
    limits: RateLimits = field(default_factory=RateLimits)
    latency_seconds: float = 0.0
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    # (type, store external id) -> HubSpot id, when an organisation was loaded from a store.
    loaded_ids: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._server = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    def client(self, **kwargs: Any) -> Any:
        """HubSpot's official client, pointed here."""
        from hubspot import HubSpot

        return HubSpot(access_token=self.token, host=self.base_url, **kwargs)

    # Faults ---------------------------------------------------------------------------

    def fail_next(
        self,
        times: int = 1,
        *,
        status: int = 502,
        endpoint: str | None = None,
        after: bool = False,
    ) -> None:
        """Answer the next ``times`` requests (to ``endpoint``, e.g. "objects.search") 5xx.

        ``after``: do the request's work first, then answer 5xx (a gateway that timed out
        while HubSpot went on: the client cannot know whether its write was made).
        """
        with self._lock:
            kind = "status_after" if after else "status"
            self._faults.append(_Fault(kind, times, endpoint, status=status))

    def drop_next(self, times: int = 1, *, endpoint: str | None = None) -> None:
        """Close the connection without answering the next ``times`` requests."""
        with self._lock:
            self._faults.append(_Fault("drop", times, endpoint))

    def delay_next(self, seconds: float, times: int = 1, *, endpoint: str | None = None) -> None:
        """Answer the next ``times`` requests ``seconds`` late."""
        with self._lock:
            self._faults.append(_Fault("delay", times, endpoint, seconds=seconds))

    def clear_faults(self) -> None:
        """Answer normally again: the faults not yet used up are dropped."""
        with self._lock:
            self._faults.clear()

    def revoke_scope(self, scope: str) -> None:
        """The private app loses ``scope``: endpoints that need it answer 403."""
        self.scopes.discard(scope)

    # Webhooks -------------------------------------------------------------------------

    def deliver_webhooks(
        self,
        url: str,
        *,
        client_secret: str,
        forge: bool = False,
        stale: bool = False,
        legacy_format: bool = False,
    ) -> list[webhooks.Delivery]:
        """POST every change made since the last delivery to ``url``, signed, in batches.

        Events of a delivery the receiver did not accept (no 2xx) go back in the queue with
        ``attemptNumber`` raised, as HubSpot retries them.
        """
        events = self.portal.take_events()
        deliveries = webhooks.deliver(
            url,
            events,
            client_secret=client_secret,
            forge=forge,
            stale=stale,
            legacy_format=legacy_format,
        )
        undelivered = {
            event["eventId"]
            for delivery in deliveries
            if not 200 <= delivery.status < 300
            for event in delivery.events
        }
        failed = [
            {**event, "attemptNumber": event["attemptNumber"] + 1}
            for event in events
            if event["eventId"] in undelivered
        ]
        if failed:
            with self.portal.lock:
                self.portal.events[:0] = failed
        return deliveries

    # Counting -------------------------------------------------------------------------

    def count(
        self,
        endpoint: str | None = None,
        *,
        object_type: str | None = None,
        status: int | None = None,
    ) -> int:
        """Requests answered, optionally only to one endpoint, object type or status."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (endpoint is None or r.endpoint == endpoint)
                and (object_type is None or r.object_type == object_type)
                and (status is None or r.status == status)
            )

    def counts_by_endpoint(self) -> dict[str, int]:
        with self._lock:
            counts: dict[str, int] = {}
            for r in self.requests:
                key = f"{r.endpoint}:{r.object_type}" if r.object_type else r.endpoint
                counts[key] = counts.get(key, 0) + 1
            return counts

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    # Answering ------------------------------------------------------------------------

    def _take_fault(self, endpoint: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.endpoint in (None, endpoint):
                    fault.times -= 1
                    return fault
            self._faults = [f for f in self._faults if f.times > 0]
            return None

    def _record(
        self, method: str, path: str, call: api.Call | None, status: int, body: Any
    ) -> None:
        with self._lock:
            self.requests.append(
                Request(
                    method,
                    path,
                    call.endpoint if call else "unknown",
                    call.object_type if call else None,
                    status,
                    time.monotonic(),
                    body,
                )
            )

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]] | None:
        """(status, JSON body, headers) for one request; None means drop the connection."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        if path.startswith(CONTROL_PREFIX):
            return self._control(method, path, headers, body)
        call = api.match(method, path)
        endpoint = call.endpoint if call else "unknown"
        fault = self._take_fault(endpoint)
        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "drop":
            self._record(method, path, call, 0, body)
            return None
        if fault is not None and fault.kind == "status":
            answer = api.error_body("INTERNAL_ERROR", "Internal error (injected)")
            self._record(method, path, call, fault.status, body)
            return fault.status, answer, self.limits.peek()
        status, answer, extra = self._answer(method, call, path, query, headers, body)
        if fault is not None and fault.kind == "status_after":
            status, answer = fault.status, api.error_body("INTERNAL_ERROR", "Gateway timeout")
        self._record(method, path, call, status, body)
        # Every answer carries the rate-limit headers (refusals before the limiter too).
        return status, answer, extra or self.limits.peek()

    def _answer(
        self,
        method: str,
        call: api.Call | None,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
    ) -> tuple[int, Any, dict[str, str]]:
        if headers.get("authorization") != f"Bearer {self.token}":
            return (
                401,
                api.error_body(
                    "INVALID_AUTHENTICATION",
                    "Authentication credentials not found. This API supports OAuth 2.0 "
                    "authentication and you can find more details at "
                    "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                ),
                {},
            )
        if call is None:
            return 404, api.error_body("OBJECT_NOT_FOUND", f"No route for {method} {path}"), {}
        missing = [s for s in call.scopes if s not in self.scopes]
        if missing:
            return (
                403,
                api.error_body(
                    "MISSING_SCOPES",
                    "This app hasn't been granted all required scopes to make this call. "
                    "Read more about required scopes here: "
                    "https://developers.hubspot.com/scopes.",
                    errors=[
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": list(call.scopes)},
                        }
                    ],
                ),
                {},
            )
        verdict = self.limits.check(search=call.search)
        if verdict.policy is not None:
            names = {
                "TEN_SECONDLY_ROLLING": "ten_secondly_rolling",
                "DAILY": "daily",
                "SECONDLY": "secondly",
            }
            refusal = {
                "status": "error",
                "message": f"You have reached your {names[verdict.policy]} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": api.correlation_id(),
                "policyName": verdict.policy,
            }
            return 429, refusal, verdict.headers
        try:
            status, answer = call.handler(self.portal, call.params, query, body)
        except PortalError as error:
            return (
                error.status,
                api.error_body(error.category, error.message),
                (verdict.headers),
            )
        return status, answer, verdict.headers

    def _control(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """The stand-in's own endpoints, for a stand-in running as a separate process.

        ``POST /_standin/webhooks/deliver`` {"url", "clientSecret"} delivers pending events
        (``.../webhooks/discard`` drops them);
        ``GET /_standin/requests`` answers the request counts (``POST .../requests/clear``
        starts them again); ``POST /_standin/portal/bulk_update`` changes records as a
        workflow would; ``GET /_standin/ids`` the store-to-HubSpot id map of a loaded
        organisation. Same bearer token; not counted.
        """
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, api.error_body("INVALID_AUTHENTICATION", "Bad token"), {}
        action = path.removeprefix(CONTROL_PREFIX).strip("/")
        if method == "POST" and action == "webhooks/deliver":
            body = body or {}
            deliveries = self.deliver_webhooks(
                str(body.get("url")), client_secret=str(body.get("clientSecret"))
            )
            answer = [{"status": d.status, "events": len(d.events)} for d in deliveries]
            return 200, {"deliveries": answer}, {}
        if method == "POST" and action == "webhooks/discard":
            return 200, {"events": len(self.portal.take_events())}, {}
        if method == "GET" and action == "requests":
            counted = {
                "total": self.count(),
                "refused": self.count(status=429),
                "byEndpoint": self.counts_by_endpoint(),
            }
            return 200, counted, {}
        if method == "POST" and action == "requests/clear":
            self.clear()
            return 200, {}, {}
        if method == "POST" and action == "portal/bulk_update":
            return 200, self._bulk_update(body or {}), {}
        if method == "GET" and action == "ids":
            ids: dict[str, dict[str, str]] = {}
            for (kind, external_id), hubspot_id in self.loaded_ids.items():
                ids.setdefault(kind, {})[external_id] = hubspot_id
            return 200, ids, {}
        return 404, api.error_body("OBJECT_NOT_FOUND", f"No control {method} {path}"), {}

    def _bulk_update(self, body: dict[str, Any]) -> dict[str, Any]:
        """``{"objectType", "properties", "count", "offset", "ownedOnly"}``: records
        ``offset`` to ``offset + count`` of the type's live ones (those with an owner only,
        if asked) get ``properties`` with one modified date, as ``Portal.bulk_update``."""
        kind = str(body.get("objectType"))
        records = self.portal.live(kind)
        if body.get("ownedOnly"):
            records = [r for r in records if r.properties.get("hubspot_owner_id")]
        offset = int(body.get("offset") or 0)
        ids = [r.id for r in records[offset : offset + int(body.get("count") or 0)]]
        self.portal.bulk_update(kind, ids, dict(body.get("properties") or {}))
        return {"ids": ids}


CONTROL_PREFIX = "/_standin/"


def _handler_for(standin: HubSpotStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # TCP_NODELAY: the headers and the body go in two writes; on a kept-alive
        # connection Nagle's algorithm held the body until the client's delayed ACK
        # (about 40 ms an answer), a delay HubSpot's servers do not add.
        disable_nagle_algorithm = True

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                self._send(400, api.error_body("VALIDATION_ERROR", "Invalid JSON"), {})
                return
            answered = standin.answer(self.command, self.path, headers, body)
            if answered is None:
                self.close_connection = True
                return
            self._send(*answered)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        def _send(self, status: int, body: Any, extra: dict[str, str]) -> None:
            send_json(self, status, body, extra)

        def log_message(self, *_args: object) -> None:  # keep test output quiet
            return

    return Handler


@contextmanager
def running_hubspot(**kwargs: Any) -> Iterator[HubSpotStandIn]:
    standin = HubSpotStandIn(**kwargs).start()
    try:
        yield standin
    finally:
        standin.stop()
