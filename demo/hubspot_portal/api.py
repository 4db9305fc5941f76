"""HubSpot's REST endpoints over a ``Portal``: request in, (status, JSON body) out.

Kept free of HTTP so each endpoint reads as what HubSpot documents: paths, limits and answer
shapes. ``server.py`` does the transport (auth, rate limits, faults, counting).
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from demo.hubspot_portal.portal import Association, Portal, PortalError, Record
from demo.hubspot_portal.properties import (
    check_unique,
    check_values,
    create_group,
    create_property,
    property_definitions,
    unique_properties,
)
from demo.hubspot_portal.schema import (
    OBJECT_TYPES,
    association_type_ids,
    iso,
    object_type,
    schema_write_scope,
)
from demo.hubspot_portal.search import MAX_TOTAL, search

MAX_LIST_PAGE = 100
MAX_LIST_PAGE_WITH_HISTORY = 50
MAX_BATCH = 100
MAX_ASSOCIATION_BATCH = 1_000
MAX_ASSOCIATION_PAGE = 500

Query = dict[str, list[str]]
Answer = tuple[int, Any]


@dataclass(frozen=True)
class Call:
    """One matched request: which endpoint, on which object type, with which path values."""

    endpoint: str
    object_type: str | None
    params: dict[str, str]
    handler: Callable[[Portal, dict[str, str], Query, Any], Answer]
    scopes: tuple[str, ...]
    search: bool = False


def error_body(category: str, message: str, **extra: Any) -> dict[str, Any]:
    """HubSpot's error shape."""
    return {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
        **extra,
    }


def correlation_id() -> str:
    """The id HubSpot puts on every error answer, for its support to find the request."""
    return str(uuid.uuid4())


# Helpers ------------------------------------------------------------------------------


def _names(query: Query, key: str) -> list[str] | None:
    """A list parameter sent repeated (``a=1&a=2``) or comma-separated (``a=1,2``)."""
    if key not in query:
        return None
    return [part for value in query[key] for part in value.split(",") if part]


def _first(query: Query, key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _flag(query: Query, key: str) -> bool:
    return (query.get(key) or ["false"])[0].lower() == "true"


def _int(query: Query, key: str, default: int) -> int:
    try:
        return int((query.get(key) or [str(default)])[0])
    except ValueError as error:
        raise PortalError(400, "VALIDATION_ERROR", f"{key} must be a number") from error


def _one(items: list[dict[str, Any]], key: str, value: str, what: str) -> dict[str, Any]:
    """The item whose ``key`` is ``value``; 404 when there is none."""
    for item in items:
        if item[key] == value:
            return item
    raise PortalError(404, "OBJECT_NOT_FOUND", f"{what} {value} does not exist")


def _id_order(record: Record) -> int:
    return int(record.id) if record.id.isdigit() else 0


def _batch(results: list[Any], errors: list[dict[str, Any]], started: datetime) -> Answer:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso(started),
        "completedAt": iso(started),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return 207, body
    return 200, body


def _inputs(body: Any, maximum: int) -> list[dict[str, Any]]:
    inputs = (body or {}).get("inputs")
    if not isinstance(inputs, list):
        raise PortalError(400, "VALIDATION_ERROR", "The body needs an `inputs` list")
    if len(inputs) > maximum:
        raise PortalError(
            400,
            "VALIDATION_ERROR",
            f"Batch input too large: {len(inputs)} inputs, at most {maximum}",
        )
    return inputs


def _not_found(ids: list[str], object_type_name: str) -> dict[str, Any]:
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": f"Could not get some {object_type_name} objects, they may be deleted or "
        "not exist. Check that ids are valid.",
        "context": {"ids": ids},
    }


# Owners, pipelines, dispositions ------------------------------------------------------


def list_owners(portal: Portal, _p: dict[str, str], query: Query, _b: Any) -> Answer:
    limit = min(_int(query, "limit", 100), 500)
    archived = _flag(query, "archived")
    email = _first(query, "email")
    with portal.lock:
        owners = sorted(
            (o for o in portal.owners.values() if o.archived == archived),
            key=lambda o: int(o.id),
        )
    if email:
        owners = [o for o in owners if o.email.lower() == email.lower()]
    after = _first(query, "after")
    if after:
        owners = [o for o in owners if int(o.id) >= int(after)]
    page, rest = owners[:limit], owners[limit:]
    body: dict[str, Any] = {"results": [o.to_json() for o in page]}
    if rest:
        body["paging"] = {"next": {"after": rest[0].id, "link": f"?after={rest[0].id}"}}
    return 200, body


def get_owner(portal: Portal, params: dict[str, str], _q: Query, _b: Any) -> Answer:
    owner = portal.owners.get(params["id"])
    if owner is None:
        raise PortalError(404, "OBJECT_NOT_FOUND", f"Owner {params['id']} not found")
    return 200, owner.to_json()


def list_pipelines(portal: Portal, params: dict[str, str], _q: Query, _b: Any) -> Answer:
    kind = portal.type_of(params["type"])
    if kind.name not in portal.pipelines:
        raise PortalError(400, "VALIDATION_ERROR", f"{kind.name} have no pipelines")
    at = portal.created_at
    results = [p.to_json(at) for p in portal.pipelines[kind.name]]
    if "pipeline" in params:
        return 200, _one(results, "id", params["pipeline"], "Pipeline")
    return 200, {"results": results}


def list_users(portal: Portal, _p: dict[str, str], query: Query, _b: Any) -> Answer:
    """Settings users API: the user behind each active owner, with super admin and role."""
    limit = min(_int(query, "limit", 100), 100)
    after = _first(query, "after")
    with portal.lock:
        owners = sorted(
            (o for o in portal.owners.values() if not o.archived), key=lambda o: o.user_id
        )
        if after:
            owners = [o for o in owners if o.user_id >= int(after)]
        page, rest = owners[:limit], owners[limit:]
        results = []
        for owner in page:
            super_admin, role_id = portal.user_roles.get(owner.id, (False, None))
            primary = [team.id for team, is_primary in owner.teams if is_primary]
            results.append(
                {
                    "id": str(owner.user_id),
                    "email": owner.email,
                    "firstName": owner.first_name,
                    "lastName": owner.last_name,
                    "roleId": role_id,
                    "roleIds": [role_id] if role_id else [],
                    "primaryTeamId": primary[0] if primary else None,
                    "secondaryTeamIds": [t.id for t, p in owner.teams if not p],
                    "superAdmin": super_admin,
                }
            )
    body: dict[str, Any] = {"results": results}
    if rest:
        body["paging"] = {"next": {"after": str(rest[0].user_id), "link": None}}
    return 200, body


def list_roles(portal: Portal, _p: dict[str, str], _q: Query, _b: Any) -> Answer:
    return 200, {
        "results": [
            {"id": role_id, "name": name, "requiresBillingWrite": False}
            for role_id, name in portal.roles.items()
        ]
    }


def list_properties(portal: Portal, params: dict[str, str], _q: Query, _b: Any) -> Answer:
    definitions = property_definitions(portal, params["type"])
    if "name" in params:
        return 200, _one(definitions, "name", params["name"], "Property")
    return 200, {"results": definitions}


def list_groups(portal: Portal, params: dict[str, str], _q: Query, _b: Any) -> Answer:
    kind = portal.type_of(params["type"])
    with portal.lock:
        groups = [
            {"name": f"{kind.singular}information", "label": "Information", "displayOrder": -1},
            *portal.property_groups.get(kind.name, {}).values(),
        ]
    if "name" in params:
        return 200, _one(groups, "name", params["name"], "Property group")
    return 200, {"results": groups}


def new_group(portal: Portal, params: dict[str, str], _q: Query, body: Any) -> Answer:
    return 201, create_group(portal, params["type"], body)


def new_property(portal: Portal, params: dict[str, str], _q: Query, body: Any) -> Answer:
    return 201, create_property(portal, params["type"], body)


def list_dispositions(portal: Portal, _p: dict[str, str], _q: Query, _b: Any) -> Answer:
    return 200, [{"id": guid, "label": label} for guid, label in portal.dispositions.items()]


def account_details(portal: Portal, _p: dict[str, str], _q: Query, _b: Any) -> Answer:
    """``GET /account-info/v3/details``: the account the token belongs to (HubSpot's
    account information API; ``portalId`` is the Hub ID)."""
    return 200, {
        "portalId": portal.portal_id,
        "accountType": "STANDARD",
        "timeZone": "US/Eastern",
        "companyCurrency": "USD",
        "additionalCurrencies": [],
        "utcOffset": "-05:00",
        "utcOffsetMilliseconds": -18_000_000,
        "uiDomain": "app.hubspot.com",
        "dataHostingLocation": "na1",
    }


# Objects ------------------------------------------------------------------------------


def list_objects(portal: Portal, params: dict[str, str], query: Query, _b: Any) -> Answer:
    kind = portal.type_of(params["type"])
    history = _names(query, "propertiesWithHistory") or []
    ceiling = MAX_LIST_PAGE_WITH_HISTORY if history else MAX_LIST_PAGE
    limit = _int(query, "limit", 10)
    if not 0 < limit <= ceiling:
        raise PortalError(400, "VALIDATION_ERROR", f"limit must be between 1 and {ceiling}")
    after = _first(query, "after") or "0"
    if not after.isdigit():
        raise PortalError(400, "VALIDATION_ERROR", f"Invalid after: {after}")
    page, following = portal.page(
        kind.name, after=int(after), limit=limit, archived=_flag(query, "archived")
    )
    properties = _names(query, "properties")
    with portal.lock:
        body: dict[str, Any] = {"results": [r.to_json(properties, history) for r in page]}
    if following is not None:
        body["paging"] = {"next": {"after": following, "link": f"?after={following}"}}
    return 200, body


def read_object(portal: Portal, params: dict[str, str], query: Query, _b: Any) -> Answer:
    kind = portal.type_of(params["type"])
    id_property = _first(query, "idProperty")
    if id_property:
        _check_id_property(portal, kind.name, id_property)
        record = portal.find_by(kind.name, id_property, params["id"])
        if record is None:
            raise PortalError(404, "OBJECT_NOT_FOUND", f"No {kind.name} with {id_property}")
    else:
        record = portal.get(kind.name, params["id"], archived=_flag(query, "archived"))
    with portal.lock:
        return 200, record.to_json(
            _names(query, "properties"), _names(query, "propertiesWithHistory") or []
        )


def _check_id_property(portal: Portal, kind_name: str, id_property: str) -> None:
    """``idProperty`` names a unique property or nothing is read (HubSpot: "The name of a
    property whose values are unique for this object type")."""
    if id_property not in unique_properties(portal, kind_name):
        raise PortalError(
            400,
            "VALIDATION_ERROR",
            f"Unable to read by non-unique {kind_name} property {id_property}",
        )


def _associations_in(body: Any) -> list[tuple[str, str, bool]]:
    """``associations`` of a create body as (to_type, to_id, primary)."""
    found = []
    for item in (body or {}).get("associations") or []:
        to_id = str((item.get("to") or {}).get("id"))
        for spec in item.get("types") or []:
            pair = _TYPE_ID_PAIRS.get(int(spec.get("associationTypeId", -1)))
            if pair is None:
                raise PortalError(400, "VALIDATION_ERROR", f"Unknown associationTypeId {spec}")
            found.append((pair[1], to_id, pair[2]))
    return found


def _create_one(portal: Portal, kind_name: str, body: Any, *, checked: bool = False) -> Record:
    properties = (body or {}).get("properties") or {}
    links = _associations_in(body)
    with portal.lock:
        if not checked:
            check_values(portal, kind_name, properties)
            check_unique(portal, kind_name, [(None, properties)])
        for to_type, to_id, _primary in links:
            portal.get(to_type, to_id)  # 404 before anything is written
        record = portal.create(kind_name, properties, source_type="INTEGRATION")
        for to_type, to_id, primary in links:
            portal.associate(kind_name, record.id, to_type, to_id, primary=primary)
        return record


def create_object(portal: Portal, params: dict[str, str], _q: Query, body: Any) -> Answer:
    kind = portal.type_of(params["type"])
    record = _create_one(portal, kind.name, body)
    with portal.lock:
        return 201, record.to_json(list((body or {}).get("properties") or {}))


def update_object(portal: Portal, params: dict[str, str], _q: Query, body: Any) -> Answer:
    kind = portal.type_of(params["type"])
    properties = (body or {}).get("properties")
    if not isinstance(properties, dict):
        raise PortalError(400, "VALIDATION_ERROR", "The body needs `properties`")
    check_values(portal, kind.name, properties)
    with portal.lock:
        record = portal.get(kind.name, params["id"])
        check_unique(portal, kind.name, [(record.id, properties)])
        portal.update(kind.name, record.id, properties, source_type="INTEGRATION")
        return 200, record.to_json(list(properties))


def archive_object(portal: Portal, params: dict[str, str], _q: Query, _b: Any) -> Answer:
    kind = portal.type_of(params["type"])
    # HubSpot answers 204 for an id that is already gone.
    with contextlib.suppress(PortalError):
        portal.archive(kind.name, params["id"])
    return 204, None


def batch_read(portal: Portal, params: dict[str, str], _q: Query, body: Any) -> Answer:
    kind = portal.type_of(params["type"])
    started = portal.now()
    inputs = _inputs(body, MAX_BATCH)
    properties = body.get("properties")
    history = body.get("propertiesWithHistory") or []
    id_property = body.get("idProperty")
    if id_property:
        _check_id_property(portal, kind.name, str(id_property))
    results, missing, seen = [], [], set()
    with portal.lock:
        for item in inputs:
            wanted = str(item.get("id"))
            if id_property:
                record = portal.find_by(kind.name, id_property, wanted)
            else:
                try:
                    record = portal.get(kind.name, wanted, archived=bool(body.get("archived")))
                except PortalError:
                    record = None
            if record is None:
                missing.append(wanted)
            elif record.id not in seen:
                seen.add(record.id)
                results.append(record.to_json(properties, history))
    errors = [_not_found(missing, kind.name)] if missing else []
    return _batch(results, errors, started)


def batch_create(portal: Portal, params: dict[str, str], _q: Query, body: Any) -> Answer:
    """``POST /crm/v3/objects/{type}/batch/create``: 201 when every input was created, 207
    (multi-status) when some failed.

    Invalid values or a unique value already held refuse the whole batch (400, nothing
    created), as a batch update does. An input linked to a record that does not exist fails
    alone (an ``OBJECT_NOT_FOUND`` error naming the missing ids); the others are created.
    HubSpot does not promise the inputs' order in ``results`` (the stand-in answers newest
    first): a client matches results by a property it set, or by ``objectWriteTraceId``,
    which each result echoes.
    """
    kind = portal.type_of(params["type"])
    started = portal.now()
    inputs = _inputs(body, MAX_BATCH)
    created: list[tuple[Record, dict[str, Any]]] = []
    missing: list[str] = []
    with portal.lock:
        for item in inputs:
            check_values(portal, kind.name, item.get("properties") or {})
        check_unique(portal, kind.name, [(None, item.get("properties") or {}) for item in inputs])
        for item in inputs:
            absent = _missing_links(portal, item)
            if absent:
                missing += absent
                continue
            created.append((_create_one(portal, kind.name, item, checked=True), item))
        results = []
        for record, item in reversed(created):
            result = record.to_json(list(item.get("properties") or {}))
            if item.get("objectWriteTraceId") is not None:
                result["objectWriteTraceId"] = str(item["objectWriteTraceId"])
            results.append(result)
    errors = [_not_found(missing, kind.name)] if missing else []
    status, answer = _batch(results, errors, started)
    return (201 if status == 200 else status), answer


def _missing_links(portal: Portal, item: Any) -> list[str]:
    """The ids an input links to that the portal does not have."""
    absent = []
    for to_type, to_id, _primary in _associations_in(item):
        try:
            portal.get(to_type, to_id)
        except PortalError:
            absent.append(to_id)
    return absent


def batch_update(portal: Portal, params: dict[str, str], _q: Query, body: Any) -> Answer:
    kind = portal.type_of(params["type"])
    started = portal.now()
    inputs = _inputs(body, MAX_BATCH)
    # One input's invalid values refuse the whole batch (400), nothing written; ids that
    # do not exist only fail themselves (207 multi-status).
    for item in inputs:
        check_values(portal, kind.name, item.get("properties") or {})
    results, missing = [], []
    with portal.lock:
        check_unique(
            portal, kind.name, [(str(i.get("id")), i.get("properties") or {}) for i in inputs]
        )
        for item in inputs:
            try:
                record = portal.get(kind.name, str(item.get("id")))
            except PortalError:
                missing.append(str(item.get("id")))
                continue
            properties = item.get("properties") or {}
            portal.update(kind.name, record.id, properties, source_type="INTEGRATION")
            results.append(record.to_json(list(properties)))
    errors = [_not_found(missing, kind.name)] if missing else []
    return _batch(results, errors, started)


def batch_archive(portal: Portal, params: dict[str, str], _q: Query, body: Any) -> Answer:
    kind = portal.type_of(params["type"])
    for item in _inputs(body, MAX_BATCH):
        with contextlib.suppress(PortalError):
            portal.archive(kind.name, str(item.get("id")))
    return 204, None


def search_objects(portal: Portal, params: dict[str, str], _q: Query, body: Any) -> Answer:
    kind = portal.type_of(params["type"])
    body = body or {}
    with portal.lock:
        page = search(portal.searchable(kind.name), body)
        answer: dict[str, Any] = {
            "total": page.total,
            "results": [r.to_json(body.get("properties")) for r in page.results],
        }
    if page.next_after is not None:
        answer["paging"] = {"next": {"after": page.next_after, "link": ""}}
    return 200, answer


def merge_objects(portal: Portal, params: dict[str, str], _q: Query, body: Any) -> Answer:
    kind = portal.type_of(params["type"])
    body = body or {}
    winner = portal.merge(
        kind.name, str(body.get("primaryObjectId")), str(body.get("objectIdToMerge"))
    )
    with portal.lock:
        return 200, winner.to_json()


# Associations v4 ----------------------------------------------------------------------


def _labelled(from_type: str, to_type: str, primary: bool) -> list[dict[str, Any]]:
    ids = association_type_ids(from_type, to_type)
    assert ids is not None
    types = [{"category": "HUBSPOT_DEFINED", "typeId": ids[0], "label": None}]
    if primary and ids[1] is not None:
        types.insert(0, {"category": "HUBSPOT_DEFINED", "typeId": ids[1], "label": "Primary"})
    return types


def _pair(portal: Portal, params: dict[str, str]) -> tuple[str, str]:
    from_kind, to_kind = portal.type_of(params["from"]), portal.type_of(params["to"])
    if association_type_ids(from_kind.name, to_kind.name) is None:
        raise PortalError(
            400, "VALIDATION_ERROR", f"No associations between {from_kind.name} and {to_kind.name}"
        )
    return from_kind.name, to_kind.name


def associations_batch_read(portal: Portal, params: dict[str, str], _q: Query, body: Any) -> Answer:
    from_type, to_type = _pair(portal, params)
    started = portal.now()
    inputs = _inputs(body, MAX_ASSOCIATION_BATCH)
    results, missing = [], []
    with portal.lock:
        for item in inputs:
            wanted = str(item.get("id"))
            try:
                record = portal.get(from_type, wanted)
            except PortalError:
                missing.append(wanted)
                continue
            links = portal.associations(from_type, record.id, to_type)
            page = _association_page(links, int(item.get("after") or 0), MAX_ASSOCIATION_PAGE)
            if not page["results"]:
                continue  # HubSpot leaves records without associations out of the results
            result = {"from": {"id": wanted}, "to": page.pop("results"), **page}
            results.append(result)
    errors = [_not_found(missing, from_type)] if missing else []
    return _batch(results, errors, started)


def associations_of(portal: Portal, params: dict[str, str], query: Query, _b: Any) -> Answer:
    from_type, to_type = _pair(portal, params)
    record = portal.get(from_type, params["id"])
    limit = min(_int(query, "limit", MAX_ASSOCIATION_PAGE), MAX_ASSOCIATION_PAGE)
    after = _int(query, "after", 0)
    with portal.lock:
        links = portal.associations(from_type, record.id, to_type)
    return 200, _association_page(links, after, limit)


def _association_page(links: list[Association], after: int, limit: int) -> dict[str, Any]:
    """One page of a record's associations: ``results``, and ``paging`` when more follow."""
    page = links[after : after + limit]
    body: dict[str, Any] = {
        "results": [
            {
                "toObjectId": int(link.to_id),
                "associationTypes": _labelled(link.from_type, link.to_type, link.primary),
            }
            for link in page
        ]
    }
    if after + len(page) < len(links):
        body["paging"] = {"next": {"after": str(after + len(page)), "link": None}}
    return body


def _association_result(from_type: str, to_type: str, from_id: str, to_id: str) -> dict[str, Any]:
    ids = association_type_ids(from_type, to_type)
    assert ids is not None
    return {
        "from": {"id": from_id},
        "to": {"id": to_id},
        "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": ids[0]},
    }


def associate_default(portal: Portal, params: dict[str, str], _q: Query, _b: Any) -> Answer:
    from_type, to_type = _pair(portal, params)
    started = portal.now()
    portal.associate(from_type, params["id"], to_type, params["to_id"])
    result = _association_result(from_type, to_type, params["id"], params["to_id"])
    return _batch([result], [], started)


def associate_labelled(portal: Portal, params: dict[str, str], _q: Query, body: Any) -> Answer:
    from_type, to_type = _pair(portal, params)
    ids = association_type_ids(from_type, to_type)
    assert ids is not None
    type_ids = {int(s.get("associationTypeId", -1)) for s in body or []}
    portal.associate(from_type, params["id"], to_type, params["to_id"], primary=ids[1] in type_ids)
    return 201, {
        "fromObjectTypeId": portal.type_of(from_type).type_id,
        "fromObjectId": int(params["id"]),
        "toObjectTypeId": portal.type_of(to_type).type_id,
        "toObjectId": int(params["to_id"]),
        "labels": ["Primary"] if ids[1] in type_ids else [],
    }


def dissociate_one(portal: Portal, params: dict[str, str], _q: Query, _b: Any) -> Answer:
    from_type, to_type = _pair(portal, params)
    portal.dissociate(from_type, params["id"], to_type, params["to_id"])
    return 204, None


def association_labels(portal: Portal, params: dict[str, str], _q: Query, _b: Any) -> Answer:
    """The association types from one object type to another (unlabeled, then Primary)."""
    from_type, to_type = _pair(portal, params)
    return 200, {"results": _labelled(from_type, to_type, primary=True)[::-1]}


def associations_batch_create(
    portal: Portal, params: dict[str, str], _q: Query, body: Any
) -> Answer:
    from_type, to_type = _pair(portal, params)
    ids = association_type_ids(from_type, to_type)
    assert ids is not None
    started = portal.now()
    results = []
    for item in _inputs(body, MAX_BATCH * 10):
        from_id = str((item.get("from") or {}).get("id"))
        to_id = str((item.get("to") or {}).get("id"))
        type_ids = {int(t.get("associationTypeId", -1)) for t in item.get("types") or []}
        portal.associate(from_type, from_id, to_type, to_id, primary=ids[1] in type_ids)
        results.append(_association_result(from_type, to_type, from_id, to_id))
    _status, answer = _batch(results, [], started)
    return 201, answer


def associations_batch_archive(
    portal: Portal, params: dict[str, str], _q: Query, body: Any
) -> Answer:
    from_type, to_type = _pair(portal, params)
    for item in _inputs(body, MAX_BATCH * 10):
        from_id = str((item.get("from") or {}).get("id"))
        for target in item.get("to") or []:
            portal.dissociate(from_type, from_id, to_type, str(target.get("id")))
    return 204, None


# Routing ------------------------------------------------------------------------------

# associationTypeId -> (from_type, to_type, primary), for create bodies.
_TYPE_ID_PAIRS: dict[int, tuple[str, str, bool]] = {}
for _from in OBJECT_TYPES:
    for _to in OBJECT_TYPES:
        _ids = association_type_ids(_from.name, _to.name)
        if _ids is not None:
            _TYPE_ID_PAIRS[_ids[0]] = (_from.name, _to.name, False)
            if _ids[1] is not None:
                _TYPE_ID_PAIRS[_ids[1]] = (_from.name, _to.name, True)

_T = r"(?P<type>[A-Za-z0-9_-]+)"
_ROUTES: list[tuple[str, re.Pattern[str], str, Callable[..., Answer], str]] = []


def _route(
    method: str, pattern: str, endpoint: str, handler: Callable[..., Answer], access: str
) -> None:
    _ROUTES.append((method, re.compile(f"^{pattern}/?$"), endpoint, handler, access))


_route("GET", r"/crm/v3/owners", "owners.list", list_owners, "owners")
_route("GET", r"/crm/v3/owners/(?P<id>\d+)", "owners.read", get_owner, "owners")
_route("GET", rf"/crm/v3/pipelines/{_T}", "pipelines.list", list_pipelines, "read")
_route(
    "GET", rf"/crm/v3/pipelines/{_T}/(?P<pipeline>[^/]+)", "pipelines.read", list_pipelines, "read"
)
# Groups first: "groups" would read as a property name.
_route("GET", rf"/crm/v3/properties/{_T}/groups", "groups.list", list_groups, "read")
_route(
    "GET",
    rf"/crm/v3/properties/{_T}/groups/(?P<name>[A-Za-z0-9_]+)",
    "groups.read",
    list_groups,
    "read",
)
_route("GET", rf"/crm/v3/properties/{_T}", "properties.list", list_properties, "read")
_route(
    "GET",
    rf"/crm/v3/properties/{_T}/(?P<name>[A-Za-z0-9_]+)",
    "properties.read",
    list_properties,
    "read",
)
_route("POST", rf"/crm/v3/properties/{_T}/groups", "groups.create", new_group, "schema")
_route("POST", rf"/crm/v3/properties/{_T}", "properties.create", new_property, "schema")
_route("GET", r"/settings/v3/users", "users.list", list_users, "users")
_route("GET", r"/settings/v3/users/roles", "roles.list", list_roles, "users")
_route("GET", r"/account-info/v3/details", "account.details", account_details, "account")
_route("GET", r"/calling/v1/dispositions", "dispositions.list", list_dispositions, "calls")
_route("POST", rf"/crm/v3/objects/{_T}/search", "objects.search", search_objects, "read")
_route("POST", rf"/crm/v3/objects/{_T}/merge", "objects.merge", merge_objects, "write")
_route("POST", rf"/crm/v3/objects/{_T}/batch/read", "objects.batch_read", batch_read, "read")
_route("POST", rf"/crm/v3/objects/{_T}/batch/create", "objects.batch_create", batch_create, "write")
_route("POST", rf"/crm/v3/objects/{_T}/batch/update", "objects.batch_update", batch_update, "write")
_route(
    "POST", rf"/crm/v3/objects/{_T}/batch/archive", "objects.batch_archive", batch_archive, "write"
)
_route("GET", rf"/crm/v3/objects/{_T}", "objects.list", list_objects, "read")
_route("POST", rf"/crm/v3/objects/{_T}", "objects.create", create_object, "write")
_route("GET", rf"/crm/v3/objects/{_T}/(?P<id>[^/]+)", "objects.read", read_object, "read")
_route("PATCH", rf"/crm/v3/objects/{_T}/(?P<id>[^/]+)", "objects.update", update_object, "write")
_route("DELETE", rf"/crm/v3/objects/{_T}/(?P<id>[^/]+)", "objects.archive", archive_object, "write")
_FROM_TO = r"(?P<from>[A-Za-z0-9_-]+)/(?P<to>[A-Za-z0-9_-]+)"
_route(
    "POST",
    rf"/crm/v4/associations/{_FROM_TO}/batch/read",
    "associations.batch_read",
    associations_batch_read,
    "pair_read",
)
_route(
    "POST",
    rf"/crm/v4/associations/{_FROM_TO}/batch/create",
    "associations.batch_create",
    associations_batch_create,
    "pair_write",
)
_route(
    "POST",
    rf"/crm/v4/associations/{_FROM_TO}/batch/associate/default",
    "associations.batch_create",
    associations_batch_create,
    "pair_write",
)
_route(
    "POST",
    rf"/crm/v4/associations/{_FROM_TO}/batch/archive",
    "associations.batch_archive",
    associations_batch_archive,
    "pair_write",
)
_route(
    "GET",
    rf"/crm/v4/associations/{_FROM_TO}/labels",
    "associations.labels",
    association_labels,
    "pair_read",
)
_OBJ = r"(?P<from>[A-Za-z0-9_-]+)/(?P<id>\d+)/associations"
_route(
    "PUT",
    rf"/crm/v4/objects/{_OBJ}/default/(?P<to>[A-Za-z0-9_-]+)/(?P<to_id>\d+)",
    "associations.create",
    associate_default,
    "pair_write",
)
_route(
    "GET",
    rf"/crm/v4/objects/{_OBJ}/(?P<to>[A-Za-z0-9_-]+)",
    "associations.list",
    associations_of,
    "pair_read",
)
_route(
    "PUT",
    rf"/crm/v4/objects/{_OBJ}/(?P<to>[A-Za-z0-9_-]+)/(?P<to_id>\d+)",
    "associations.create",
    associate_labelled,
    "pair_write",
)
_route(
    "DELETE",
    rf"/crm/v4/objects/{_OBJ}/(?P<to>[A-Za-z0-9_-]+)/(?P<to_id>\d+)",
    "associations.archive",
    dissociate_one,
    "pair_write",
)


def match(method: str, path: str) -> Call | None:
    """The endpoint a request names, with the scopes it needs; None for an unknown path."""
    for route_method, pattern, endpoint, handler, access in _ROUTES:
        if route_method != method:
            continue
        found = pattern.match(path)
        if found is None:
            continue
        params = {k: v for k, v in found.groupdict().items() if v is not None}
        type_name = params.get("type") or params.get("from")
        kind = object_type(type_name) if type_name else None
        if type_name and kind is None:
            continue
        scopes = _scopes(access, params)
        return Call(
            endpoint,
            kind.name if kind else None,
            params,
            handler,
            scopes,
            search=endpoint == "objects.search",
        )
    return None


_FIXED_SCOPES: dict[str, tuple[str, ...]] = {
    "owners": ("crm.objects.owners.read",),
    "users": ("settings.users.read",),
    # The account information guide lists one scope for the account details: ``oauth``.
    "account": ("oauth",),
    "calls": ("crm.objects.contacts.read",),
}


def _scopes(access: str, params: dict[str, str]) -> tuple[str, ...]:
    if access in _FIXED_SCOPES:
        return _FIXED_SCOPES[access]
    if access == "schema":
        kind = object_type(params["type"])
        assert kind is not None
        return (schema_write_scope(kind),)
    if access in ("read", "write"):
        kind = object_type(params["type"])
        assert kind is not None
        return kind.read_scopes if access == "read" else kind.write_scopes
    kinds = [object_type(params["from"]), object_type(params.get("to", ""))]
    scopes: list[str] = []
    for kind in kinds:
        if kind is None:
            continue
        for scope in kind.read_scopes if access == "pair_read" else kind.write_scopes:
            if scope not in scopes:
                scopes.append(scope)
    return tuple(scopes)


__all__ = ["MAX_TOTAL", "Call", "correlation_id", "error_body", "match"]
