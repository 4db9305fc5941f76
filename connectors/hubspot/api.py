"""The part of HubSpot's API the sync uses, behind a small typed interface.

``HubSpotApi`` is what the sync talks to; ``OfficialClient`` implements it with HubSpot's
own Python client (``hubspot-api-client``), every call going through the portal's
``RateLimiter``: a 429 waits as HubSpot says and is retried (tenacity), a spent daily
budget raises ``BudgetSpent``, a refused token raises ``Unauthorized``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
)
from tenacity.stop import stop_base

from connectors.hubspot.limits import BudgetSpent, RateLimiter, limiter_for

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.hubapi.com"
LIST_PAGE = 100
# List and batch read pages shrink to this when property history is asked for.
HISTORY_PAGE = 50
SEARCH_PAGE = 200
BATCH_READ = 100
ASSOCIATIONS_BATCH = 1000
# A search query returns at most this many results, whatever the paging.
SEARCH_CAP = 10_000
_TIMEOUT_SECONDS = 30
_ATTEMPTS = 8
_UNREACHABLE_ATTEMPTS = 3

T = TypeVar("T")


class HubSpotError(Exception):
    """HubSpot could not be used; the message says why and what to do."""


class Unauthorized(HubSpotError):
    """The token was refused (401/403)."""


class MissingScope(Unauthorized):
    """A 403: the private app lacks a scope this call needs (``scopes``, when HubSpot says)."""

    def __init__(self, message: str, scopes: Sequence[str]) -> None:
        super().__init__(message)
        self.scopes = tuple(scopes)


@dataclass(frozen=True)
class Change:
    """One entry of a property's history: the value it took and when."""

    value: str | None
    at: datetime


@dataclass(frozen=True)
class CrmObject:
    id: str
    properties: Mapping[str, str | None]
    archived_at: datetime | None = None
    # Per property asked for with history: its values, newest first (HubSpot's order).
    history: Mapping[str, Sequence[Change]] = field(default_factory=dict)


@dataclass(frozen=True)
class PortalUser:
    """A user of the portal (settings users API): what the owner list does not say."""

    email: str
    super_admin: bool
    role_names: tuple[str, ...]


@dataclass(frozen=True)
class Page:
    results: list[CrmObject]
    after: str | None
    total: int | None = None


@dataclass(frozen=True)
class OwnerTeam:
    id: str
    name: str
    primary: bool


@dataclass(frozen=True)
class Owner:
    id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    archived: bool
    teams: tuple[OwnerTeam, ...] = ()


@dataclass(frozen=True)
class Stage:
    id: str
    label: str
    display_order: int
    metadata: Mapping[str, str]


@dataclass(frozen=True)
class PipelineInfo:
    id: str
    label: str
    display_order: int
    stages: tuple[Stage, ...]


@dataclass(frozen=True)
class Association:
    to_id: str
    type_ids: tuple[int, ...] = ()
    labels: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class SearchWindow:
    """Records modified at or after ``since`` with an id above ``after_id``, by id."""

    modified_property: str
    since: datetime
    after_id: int


class HubSpotApi(Protocol):
    limiter: RateLimiter

    def owners(self, *, archived: bool) -> list[Owner]: ...

    def pipelines(self, object_type: str) -> list[PipelineInfo]: ...

    def call_dispositions(self) -> dict[str, str]: ...

    def portal_id(self) -> int: ...

    def portal_users(self) -> list[PortalUser]: ...

    def list_page(
        self,
        object_type: str,
        *,
        properties: Sequence[str],
        after: str | None,
        archived: bool,
        history: Sequence[str] = (),
    ) -> Page: ...

    def search_page(
        self, object_type: str, *, properties: Sequence[str], window: SearchWindow
    ) -> Page: ...

    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        *,
        properties: Sequence[str],
        history: Sequence[str] = (),
    ) -> list[CrmObject]: ...

    def associations(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> dict[str, list[Association]]: ...


@dataclass
class _Retry(Exception):
    """A response worth retrying after ``wait`` seconds."""

    wait: float
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # No answer at all (refused, unresolvable, reset): a wrong URL or an outage.
    unreachable: bool = False


def portal_key(token: str, api_url: str) -> str:
    """A stable name for one portal's limiter (the token identifies the private app)."""
    return hashlib.sha256(f"{api_url}|{token}".encode()).hexdigest()[:16]


class OfficialClient:
    """``HubSpotApi`` on top of ``hubspot-api-client``."""

    def __init__(
        self, *, token: str, api_url: str = DEFAULT_API_URL, limiter: RateLimiter | None = None
    ) -> None:
        from hubspot import HubSpot
        from urllib3.util import Retry

        api_url = api_url.rstrip("/")
        self.api_url = api_url
        self.limiter = limiter or limiter_for(portal_key(token, api_url))
        # host: every generated API's base URL; base_url: the generic request helper's.
        # Enough pooled connections for the sync's fetchers, the writer and the worker;
        # urllib3's own retries off (3 a request, each logged): tenacity decides.
        self._client = HubSpot(
            access_token=token,
            host=api_url,
            base_url=api_url,
            connection_pool_maxsize=16,
            retry=Retry(total=0, redirect=False),
        )
        self._bulk: dict[str, Any] = {}
        self._bulk_lock = threading.Lock()

    def _bulk_api(self, name: str) -> Any:
        """One generated API object per kind of bulk read, kept for the client's life.

        The client builds a new API object (a ``Configuration``, an ``ApiClient`` and a
        connection pool) at every attribute access: one TCP (with HubSpot: TLS) connection
        per request, and a package-metadata lookup. Kept, the connections are reused.
        """
        with self._bulk_lock:
            api = self._bulk.get(name)
            if api is None:
                crm = self._client.crm
                api = self._bulk[name] = {
                    "basic": lambda: crm.objects.basic_api,
                    "search": lambda: crm.objects.search_api,
                    "batch": lambda: crm.objects.batch_api,
                    "associations": lambda: crm.associations.v4.batch_api,
                }[name]()
            return api

    # The calls ------------------------------------------------------------------------

    def owners(self, *, archived: bool) -> list[Owner]:
        api = self._client.crm.owners.owners_api
        owners: list[Owner] = []
        after: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": LIST_PAGE, "archived": archived}
            if after:
                kwargs["after"] = after
            page = self._call(partial(api.get_page_with_http_info, **kwargs))
            for o in page.results or []:
                teams = tuple(
                    OwnerTeam(str(t.id), t.name or "", bool(t.primary)) for t in (o.teams or [])
                )
                owners.append(
                    Owner(
                        str(o.id),
                        o.email,
                        o.first_name,
                        o.last_name,
                        bool(o.archived) or archived,
                        teams,
                    )
                )
            after = _next_after(page)
            if not after:
                return owners

    def pipelines(self, object_type: str) -> list[PipelineInfo]:
        api = self._client.crm.pipelines.pipelines_api
        answer = self._call(lambda: api.get_all_with_http_info(object_type))
        return [
            PipelineInfo(
                str(p.id),
                p.label or str(p.id),
                int(p.display_order or 0),
                tuple(
                    Stage(
                        str(s.id),
                        s.label or str(s.id),
                        int(s.display_order or 0),
                        {str(k): str(v) for k, v in (s.metadata or {}).items()},
                    )
                    for s in (p.stages or [])
                ),
            )
            for p in answer.results or []
        ]

    def _get(self, path: str) -> Any:
        """GET ``path`` through the client's generic request (for endpoints the generated
        API lacks), under the limiter and its retries; the answer's JSON."""

        def request() -> tuple[Any, int, Mapping[str, str]]:
            response = self._client.api_request({"method": "GET", "path": path})
            if response.status_code >= 400:
                raise _HttpError(response.status_code, dict(response.headers), response.text)
            return response.json(), response.status_code, response.headers

        return self._call(request)

    def call_dispositions(self) -> dict[str, str]:
        body = self._get("/calling/v1/dispositions")  # no generated API for calling v1
        return {str(d["id"]): str(d.get("label") or d["id"]) for d in body or [] if "id" in d}

    def portal_id(self) -> int:
        """The id of the portal (Hub ID) the token belongs to (account information API).

        Raises ``MissingScope`` when the app may not read it.
        """

        body = self._get("/account-info/v3/details")
        try:
            return int(body["portalId"])
        except (KeyError, TypeError, ValueError):
            raise HubSpotError(
                f"HubSpot's account details name no portal id: {str(body)[:200]}"
            ) from None

    def portal_users(self) -> list[PortalUser]:
        users_api = self._client.settings.users.users_api
        roles_api = self._client.settings.users.roles_api
        roles = self._call(partial(roles_api.get_all_with_http_info))
        names = {str(r.id): r.name or "" for r in roles.results or []}
        found: list[PortalUser] = []
        after: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": LIST_PAGE}
            if after:
                kwargs["after"] = after
            page = self._call(partial(users_api.get_page_with_http_info, **kwargs))
            for u in page.results or []:
                role_ids = list(u.role_ids or ([u.role_id] if u.role_id else []))
                found.append(
                    PortalUser(
                        u.email or "",
                        bool(u.super_admin),
                        tuple(names.get(str(r), "") for r in role_ids),
                    )
                )
            after = _next_after(page)
            if not after:
                return found

    def list_page(
        self,
        object_type: str,
        *,
        properties: Sequence[str],
        after: str | None,
        archived: bool,
        history: Sequence[str] = (),
    ) -> Page:
        api = self._bulk_api("basic")
        kwargs: dict[str, Any] = {
            "limit": HISTORY_PAGE if history else LIST_PAGE,
            "properties": list(properties),
            "archived": archived,
        }
        if history:
            kwargs["properties_with_history"] = list(history)
        if after:
            kwargs["after"] = after
        answer = self._json_call(api.get_page_with_http_info, object_type, **kwargs)
        return Page([_object(o) for o in answer.get("results") or []], _after(answer))

    def search_page(
        self, object_type: str, *, properties: Sequence[str], window: SearchWindow
    ) -> Page:
        filters = [
            {
                "propertyName": window.modified_property,
                "operator": "GTE",
                "value": str(int(window.since.timestamp() * 1000)),
            }
        ]
        if window.after_id:
            filters.append(
                {"propertyName": "hs_object_id", "operator": "GT", "value": str(window.after_id)}
            )
        body = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": list(properties),
            "limit": SEARCH_PAGE,
        }
        api = self._bulk_api("search")
        answer = self._json_call(api.do_search_with_http_info, object_type, body, search=True)
        return Page(
            [_object(o) for o in answer.get("results") or []], _after(answer), answer.get("total")
        )

    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        *,
        properties: Sequence[str],
        history: Sequence[str] = (),
    ) -> list[CrmObject]:
        found: list[CrmObject] = []
        api = self._bulk_api("batch")
        size = HISTORY_PAGE if history else BATCH_READ
        for start in range(0, len(ids), size):
            body = {
                "inputs": [{"id": i} for i in ids[start : start + size]],
                "properties": list(properties),
                "propertiesWithHistory": list(history),
            }
            answer = self._json_call(api.read_with_http_info, object_type, body, archived=False)
            found += [_object(o) for o in answer.get("results") or []]
        return found

    def associations(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> dict[str, list[Association]]:
        api = self._bulk_api("associations")
        found: dict[str, list[Association]] = {i: [] for i in ids}
        pending: list[dict[str, str]] = [{"id": i} for i in ids]
        while pending:
            chunk, pending = pending[:ASSOCIATIONS_BATCH], pending[ASSOCIATIONS_BATCH:]
            answer = self._json_call(
                api.get_page_with_http_info, from_type, to_type, {"inputs": chunk}
            )
            for result in answer.get("results") or []:
                from_id = str((result.get("from") or {}).get("id"))
                for to in result.get("to") or []:
                    types = to.get("associationTypes") or []
                    found.setdefault(from_id, []).append(
                        Association(
                            str(to.get("toObjectId")),
                            tuple(int(t["typeId"]) for t in types if t.get("typeId") is not None),
                            tuple(t.get("label") for t in types),
                        )
                    )
                after = _after(result)
                if after:
                    # More than one page of associations for this record: ask again.
                    pending.append({"id": from_id, "after": after})
        return found

    def _json_call(
        self, request: Callable[..., Any], *args: Any, search: bool = False, **kwargs: Any
    ) -> Any:
        """A generated API call answered as plain JSON.

        The client's generated response models cost more than the rest of the sync (a
        ``Configuration`` built per model, dates parsed by dateutil: measured at about 1 ms
        per record); requests still go through the client, responses are read directly.
        """

        def raw() -> tuple[Any, int, Mapping[str, str]]:
            response = request(*args, _preload_content=False, **kwargs)
            return json.loads(response.data or b"null"), response.status, response.headers

        return self._call(raw, search=search)

    # Limits and retries ---------------------------------------------------------------

    def _call(
        self, request: Callable[[], tuple[T, int, Mapping[str, str]]], *, search: bool = False
    ) -> T:
        def attempt() -> T:
            slots = self.limiter.before_request(search=search)
            try:
                data, _status, headers = request()
            except Exception as error:
                self._raise_for(error)
                raise
            finally:
                self.limiter.after_request(slots)
            self.limiter.observe(headers or {})
            return data

        retrying = Retrying(
            retry=retry_if_exception_type(_Retry),
            wait=_wait_as_told,
            stop=stop_any(stop_after_attempt(_ATTEMPTS), _Unreachable()),
            sleep=self.limiter.sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retry as error:
            if error.unreachable:
                raise HubSpotError(
                    f"cannot reach HubSpot at {self.api_url} ({error.reason}): check "
                    "SALESBOT_HUBSPOT_API_URL and the network"
                ) from None
            raise HubSpotError(
                f"HubSpot kept refusing ({error.reason}) after {_ATTEMPTS} attempts"
            ) from None

    def _raise_for(self, error: Exception) -> None:
        status = getattr(error, "status", None)
        if status is None:
            if _is_connection_error(error):
                raise _Retry(2.0, _connection_problem(error), unreachable=True) from None
            return
        headers: Mapping[str, str] = getattr(error, "headers", None) or {}
        self.limiter.observe(headers)
        body = _json(getattr(error, "body", None))
        if status == 429:
            policy = str(body.get("policyName") or "")
            if policy == "DAILY":
                self.limiter.daily_spent()
                raise BudgetSpent("HubSpot says the portal's daily API limit is used up") from None
            raise _Retry(_retry_after(headers, policy, self.limiter), f"429 {policy}") from None
        if status == 403:
            scopes = _required_scopes(body)
            needed = f"; this call needs {', '.join(scopes)}" if scopes else ""
            raise MissingScope(
                f"the private app is missing a scope (HubSpot answered 403{needed}): add it "
                "to the app's scopes (docs/hubspot.md)",
                scopes,
            ) from None
        if status == 401:
            raise Unauthorized(
                f"HubSpot refused the token ({status}: {body.get('message') or 'no reason'}): "
                "check SALESBOT_HUBSPOT_TOKEN and the private app's scopes (docs/hubspot.md)"
            ) from None
        if status >= 500:
            raise _Retry(1.0, f"{status} from HubSpot") from None
        raw = getattr(error, "body", None)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        if text.lstrip().startswith("<"):
            raise HubSpotError(
                f"{self.api_url} answered {status} with a web page, not HubSpot's API: "
                "is SALESBOT_HUBSPOT_API_URL right?"
            ) from None
        raise HubSpotError(f"HubSpot answered {status}: {body.get('message') or body}") from None


class _HttpError(Exception):
    def __init__(self, status: int, headers: Mapping[str, str], body: str) -> None:
        super().__init__(f"{status}")
        self.status, self.headers, self.body = status, headers, body


def _wait_as_told(state: RetryCallState) -> float:
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    base = error.wait if isinstance(error, _Retry) else 1.0
    # Server errors and lost connections back off; a 429 waits exactly what it was told.
    if isinstance(error, _Retry) and not error.reason.startswith("429"):
        return float(min(base * 2 ** (state.attempt_number - 1), 30.0))
    return float(base)


def _retry_after(headers: Mapping[str, str], policy: str, limiter: RateLimiter) -> float:
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        return max(0.1, float(lower["retry-after"]))
    except (KeyError, ValueError):
        pass
    if "SECONDLY" in policy and "TEN" not in policy:
        return 1.0
    return limiter.usage.interval_seconds


class _Unreachable(stop_base):
    """No answer three times in a row: say so within seconds rather than minutes."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        return (
            isinstance(error, _Retry)
            and error.unreachable
            and retry_state.attempt_number >= _UNREACHABLE_ATTEMPTS
        )


def _connection_problem(error: Exception) -> str:
    """The useful end of urllib3's long message: "[Errno 111] Connection refused"."""
    found = re.search(r"\[Errno -?\d+\] [^'\")]+", str(error))
    return found.group(0).strip() if found else type(error).__name__


def _is_connection_error(error: Exception) -> bool:
    import requests
    import urllib3

    return isinstance(error, urllib3.exceptions.HTTPError | requests.ConnectionError)


def _required_scopes(body: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            listed = (error.get("context") or {}).get("requiredGranularScopes") or []
            found += [str(s) for s in listed if str(s) not in found]
    return found


def _json(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return {"message": body[:200]}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _next_after(answer: Any) -> str | None:
    paging = getattr(answer, "paging", None)
    nxt = getattr(paging, "next", None) if paging is not None else None
    after = getattr(nxt, "after", None) if nxt is not None else None
    return str(after) if after else None


def _after(answer: Mapping[str, Any]) -> str | None:
    after = ((answer.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _object(o: Mapping[str, Any]) -> CrmObject:
    history: dict[str, list[Change]] = {}
    for name, values in (o.get("propertiesWithHistory") or {}).items():
        changes = [(v.get("value"), _when(v.get("timestamp"))) for v in values or []]
        history[name] = [Change(value, at) for value, at in changes if at is not None]
    return CrmObject(
        str(o["id"]), dict(o.get("properties") or {}), _when(o.get("archivedAt")), history
    )
