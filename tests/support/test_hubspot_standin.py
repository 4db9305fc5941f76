"""The HubSpot stand-in, driven through HubSpot's own client: it must answer like HubSpot."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import urllib3
from hubspot import HubSpot
from hubspot.crm.associations.v4 import ApiException as AssociationsApiException
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.deals import ApiException as DealsApiException
from hubspot.crm.objects import ApiException as ObjectsApiException
from hubspot.crm.objects import BatchReadInputSimplePublicObjectId, PublicObjectSearchRequest
from hubspot.crm.owners import ApiException as OwnersApiException
from hubspot.exceptions import InvalidSignatureTimestampError
from hubspot.utils.signature import Signature
from urllib3.util import Retry

from demo.hubspot_portal import webhooks
from demo.hubspot_portal.demo import load_demo_portal
from demo.hubspot_portal.from_store import LoadedPortal
from tests.conftest import FIXED_NOW
from tests.support.hubspot_api import HubSpotStandIn, RateLimits, running_hubspot


@pytest.fixture
def hubspot() -> Iterator[HubSpotStandIn]:
    with running_hubspot() as standin:
        yield standin


def _search(**kwargs: object) -> PublicObjectSearchRequest:
    return PublicObjectSearchRequest(**kwargs)


def _one_filter(name: str, operator: str, value: str) -> list[dict[str, Any]]:
    """``filterGroups`` holding one filter."""
    return [{"filters": [{"propertyName": name, "operator": operator, "value": value}]}]


def test_lists_page_by_after_until_every_contact_is_read(hubspot: HubSpotStandIn) -> None:
    created = [
        hubspot.portal.create("contacts", {"email": f"c{n}@acme.example"}).id for n in range(230)
    ]
    client = hubspot.client()

    seen, after, pages = [], None, 0
    while True:
        page = client.crm.contacts.basic_api.get_page(limit=100, after=after, properties=["email"])
        seen += [r.id for r in page.results]
        pages += 1
        if page.paging is None:
            break
        after = page.paging.next.after

    assert seen == created
    assert pages == 3
    assert hubspot.count("objects.list", object_type="contacts") == 3
    with pytest.raises(ContactsApiException) as too_big:
        client.crm.contacts.basic_api.get_page(limit=101)
    assert too_big.value.status == 400


def test_values_are_strings_and_times_have_milliseconds(hubspot: HubSpotStandIn) -> None:
    deal = hubspot.portal.create("deals", {"dealname": "Globex", "amount": 1200})
    answer = hubspot.client().crm.deals.basic_api.get_by_id(deal.id, properties=["amount"])

    assert answer.properties["amount"] == "1200"
    modified = answer.properties["hs_lastmodifieddate"]
    assert modified.endswith("Z") and len(modified.split(".")[1]) == 4  # "123Z"


def test_wrong_token_gets_hubspots_401(hubspot: HubSpotStandIn) -> None:
    client = HubSpot(access_token="pat-wrong", host=hubspot.base_url)
    with pytest.raises(ContactsApiException) as refused:
        client.crm.contacts.basic_api.get_page()
    assert refused.value.status == 401
    assert '"category": "INVALID_AUTHENTICATION"' in refused.value.body


def test_search_filters_sorts_and_pages_with_a_total(hubspot: HubSpotStandIn) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for n in range(300):
        hubspot.portal.create(
            "deals",
            {"dealname": f"D{n}", "amount": n, "pipeline": "default"},
            at=start + timedelta(minutes=n),
        )
    client = hubspot.client()
    cutoff = int((start + timedelta(minutes=100)).timestamp() * 1000)
    request = {
        "filter_groups": [
            {
                "filters": [
                    {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": cutoff},
                    {"propertyName": "amount", "operator": "LT", "value": "250"},
                ]
            }
        ],
        "sorts": [{"propertyName": "amount", "direction": "DESCENDING"}],
        "properties": ["amount"],
        "limit": 100,
    }

    first = client.crm.deals.search_api.do_search(_search(**request))
    second = client.crm.deals.search_api.do_search(
        _search(**request, after=first.paging.next.after)
    )

    assert first.total == 150  # amounts 100..249
    amounts = [int(r.properties["amount"]) for r in first.results + second.results]
    assert amounts == list(range(249, 99, -1))
    assert second.paging is None


@pytest.mark.parametrize(
    ("spec", "amounts"),
    [
        ({"operator": "IN", "values": ["B"], "propertyName": "dealstage"}, [5, 6, 7, 8, 9]),
        ({"operator": "NOT_HAS_PROPERTY", "propertyName": "hs_next_step"}, [0, 2, 4, 6, 8]),
        (
            {"operator": "BETWEEN", "value": "2", "highValue": "4", "propertyName": "amount"},
            [2, 3, 4],
        ),
        (
            {"operator": "NEQ", "value": "Call", "propertyName": "hs_next_step"},
            [0, 2, 3, 4, 5, 6, 7, 8, 9],
        ),
    ],
)
def test_search_operators(
    hubspot: HubSpotStandIn, spec: dict[str, Any], amounts: list[int]
) -> None:
    for n in range(10):
        hubspot.portal.create(
            "deals",
            {
                "amount": n,
                "dealstage": "a" if n < 5 else "b",
                "hs_next_step": None if n % 2 == 0 else ("Call" if n == 1 else "Mail"),
            },
        )
    found = hubspot.client().crm.deals.search_api.do_search(
        _search(filter_groups=[{"filters": [spec]}], properties=["amount"], limit=100)
    )
    assert [int(r.properties["amount"]) for r in found.results] == amounts


# The 10,000-result cap and the bulk update that gives records one timestamp -----------------


def test_search_past_10000_results_answers_400_and_paging_by_id_gets_them_all(
    hubspot: HubSpotStandIn,
) -> None:
    hubspot.limits.enabled = False
    ids = [hubspot.portal.create("tasks", {"hs_task_subject": "t"}).id for _ in range(10_050)]
    stamp = hubspot.portal.bulk_update("tasks", ids, {"hs_task_status": "COMPLETED"})
    client = hubspot.client()
    since = {
        "propertyName": "hs_lastmodifieddate",
        "operator": "GTE",
        "value": str(int(stamp.timestamp() * 1000)),
    }

    first = client.crm.objects.search_api.do_search(
        "tasks", _search(filter_groups=[{"filters": [since]}], limit=1)
    )
    assert first.total == 10_050
    with pytest.raises(ObjectsApiException) as capped:
        client.crm.objects.search_api.do_search(
            "tasks", _search(filter_groups=[{"filters": [since]}], limit=200, after="10000")
        )
    assert capped.value.status == 400
    assert '"category": "VALIDATION_ERROR"' in capped.value.body

    # The documented way round both traps: same timestamp window, paged by object id (here
    # from record 9,900 on, past where offset paging stops).
    seen: list[str] = []
    last = ids[9_899]
    while True:
        after_last = {"propertyName": "hs_object_id", "operator": "GT", "value": last}
        page = client.crm.objects.search_api.do_search(
            "tasks",
            _search(
                filter_groups=[{"filters": [since, after_last]}],
                sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                limit=100,
            ),
        )
        if not page.results:
            break
        seen += [r.id for r in page.results]
        last = page.results[-1].id
    assert seen == ids[9_900:]
    modified = {r.updated_at for r in page.results} | {first.results[0].updated_at}
    assert len(modified) == 1  # one timestamp for all of them


# Rate limits ---------------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_limit_answers_429_with_hubspots_body_and_headers() -> None:
    clock = _Clock()
    with running_hubspot(limits=RateLimits(per_ten_seconds=3, monotonic=clock)) as hubspot:
        client = hubspot.client()
        for _ in range(3):
            client.crm.contacts.basic_api.get_page()
        with pytest.raises(ContactsApiException) as limited:
            client.crm.contacts.basic_api.get_page()

        assert limited.value.status == 429
        body = json.loads(limited.value.body)
        assert body["errorType"] == "RATE_LIMIT"
        assert body["policyName"] == "TEN_SECONDLY_ROLLING"
        headers = limited.value.headers
        assert headers["X-HubSpot-RateLimit-Max"] == "3"
        assert headers["X-HubSpot-RateLimit-Remaining"] == "0"
        assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == str(650_000 - 3)

        clock.now += 10.5  # the rolling window has moved on
        answer = client.crm.contacts.basic_api.get_page_with_http_info()
        assert answer[1] == 200
        assert answer[2]["X-HubSpot-RateLimit-Remaining"] == "2"


def test_search_has_its_own_per_second_limit_and_the_day_has_a_budget() -> None:
    clock = _Clock()
    limits = RateLimits(per_ten_seconds=100, daily=5, search_per_second=2, monotonic=clock)
    with running_hubspot(limits=limits) as hubspot:
        client = hubspot.client()
        for _ in range(2):
            client.crm.deals.search_api.do_search(_search(limit=1))
        with pytest.raises(DealsApiException) as searched:
            client.crm.deals.search_api.do_search(_search(limit=1))
        assert json.loads(searched.value.body)["policyName"] == "SECONDLY"

        client.crm.deals.basic_api.get_page()  # search did not use the burst
        client.crm.deals.basic_api.get_page()
        client.crm.deals.basic_api.get_page()
        with pytest.raises(DealsApiException) as spent:
            client.crm.deals.basic_api.get_page()
        assert json.loads(spent.value.body)["policyName"] == "DAILY"
        assert spent.value.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
        assert hubspot.count(status=429) == 2


# Associations: the trap, batch reads, write-back --------------------------------------------


def test_association_changes_do_not_move_modified_dates(hubspot: HubSpotStandIn) -> None:
    portal = hubspot.portal
    deal = portal.create("deals", {"dealname": "Globex"}, at=datetime(2026, 3, 1, tzinfo=UTC))
    contact = portal.create("contacts", {"email": "a@globex.example"}, at=deal.updated_at)
    portal.take_events()
    client = hubspot.client()

    client.crm.associations.v4.basic_api.create_default("deals", deal.id, "contacts", contact.id)

    read = client.crm.deals.basic_api.get_by_id(deal.id)
    assert read.properties["hs_lastmodifieddate"] == "2026-03-01T00:00:00.000Z"
    assert client.crm.contacts.basic_api.get_by_id(contact.id).updated_at == read.updated_at
    changed = client.crm.deals.search_api.do_search(
        _search(filter_groups=_one_filter("hs_lastmodifieddate", "GT", "2026-03-01T00:00:00.000Z"))
    )
    assert changed.total == 0  # a modified-date sync cannot see the new association
    (event,) = portal.take_events()
    assert event["subscriptionType"] == "object.associationChange"
    assert (event["fromObjectId"], event["toObjectId"]) == (int(deal.id), int(contact.id))
    assert event["associationRemoved"] is False

    found = client.crm.associations.v4.basic_api.get_page("contacts", contact.id, "deals")
    assert [r.to_object_id for r in found.results] == [deal.id]
    assert found.results[0].association_types[0].type_id == 4


def test_association_batch_read_pages_per_id_and_caps_at_1000(hubspot: HubSpotStandIn) -> None:
    portal = hubspot.portal
    company = portal.create("companies", {"name": "Initech"})
    contacts = [portal.create("contacts", {"email": f"p{n}@initech.example"}) for n in range(3)]
    for contact in contacts:
        portal.associate("contacts", contact.id, "companies", company.id, primary=True)
    lonely = portal.create("contacts", {"email": "lonely@x.example"})
    client = hubspot.client()

    answer = client.crm.associations.v4.batch_api.get_page(
        "contacts",
        "companies",
        {"inputs": [{"id": c.id} for c in [*contacts, lonely]]},
    )
    assert sorted(r._from.id for r in answer.results) == sorted(c.id for c in contacts)
    types = {t.type_id for t in answer.results[0].to[0].association_types}
    assert types == {1, 279}  # primary and unlabeled
    labels = client.crm.associations.v4.schema.definitions_api.get_all("contacts", "companies")
    assert [(t.type_id, t.label) for t in labels.results] == [(279, None), (1, "Primary")]

    with pytest.raises(AssociationsApiException) as too_many:
        client.crm.associations.v4.batch_api.get_page(
            "contacts", "companies", {"inputs": [{"id": str(n)} for n in range(1001)]}
        )
    assert too_many.value.status == 400


# Batch endpoints, deletes, merges ------------------------------------------------------------


def test_batch_read_limits_and_reports_missing_ids(hubspot: HubSpotStandIn) -> None:
    deal = hubspot.portal.create("deals", {"dealname": "Hooli", "amount": 5})
    client = hubspot.client()

    answer = client.crm.deals.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": deal.id}, {"id": "999999"}], properties=["amount"]
        )
    )
    assert [r.properties["amount"] for r in answer.results] == ["5"]
    assert answer.num_errors == 1
    assert answer.errors[0].context == {"ids": ["999999"]}

    with pytest.raises(DealsApiException) as too_big:
        client.crm.deals.batch_api.read(
            BatchReadInputSimplePublicObjectId(inputs=[{"id": str(n)} for n in range(101)])
        )
    assert too_big.value.status == 400


def test_batch_create_answers_201_or_207_and_refuses_a_bad_batch_whole(
    hubspot: HubSpotStandIn,
) -> None:
    company = hubspot.portal.create("companies", {"name": "Hooli"})
    client = hubspot.client()
    api = client.crm.objects.batch_api

    def create(*inputs: dict[str, Any]) -> Any:
        return api.create_with_http_info("tasks", {"inputs": list(inputs)}, _preload_content=False)

    def task(subject: str, to: str, trace: str) -> dict[str, Any]:
        link = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}
        return {
            "properties": {"hs_task_subject": subject},
            "associations": [{"to": {"id": to}, "types": [link]}],
            "objectWriteTraceId": trace,
        }

    both = create(task("One", company.id, "t1"), task("Two", company.id, "t2"))
    assert both.status == 201
    results = json.loads(both.data)["results"]
    # Matched by trace id or property, not by position.
    assert {r["objectWriteTraceId"]: r["properties"]["hs_task_subject"] for r in results} == {
        "t1": "One",
        "t2": "Two",
    }
    partly = create(task("Three", company.id, "t3"), task("Four", "999999", "t4"))
    assert partly.status == 207
    body = json.loads(partly.data)
    assert [r["objectWriteTraceId"] for r in body["results"]] == ["t3"]
    assert body["errors"][0]["context"] == {"ids": ["999999"]}
    before = len(hubspot.portal.live("tasks"))
    with pytest.raises(ObjectsApiException) as refused:
        create(
            task("Five", company.id, "t5"),
            {"properties": {"hs_task_status": "SOMEDAY"}, "associations": []},
        )
    assert refused.value.status == 400
    assert len(hubspot.portal.live("tasks")) == before  # nothing of the batch was created
    with pytest.raises(ObjectsApiException) as too_big:
        create(*({"properties": {}, "associations": []} for _ in range(101)))
    assert too_big.value.status == 400


def test_unique_properties_where_hubspot_allows_them_and_read_by_id_property(
    hubspot: HubSpotStandIn,
) -> None:
    client = hubspot.client()
    core = client.crm.properties.core_api

    def define(object_type: str, name: str) -> int:
        body = {
            "name": name,
            "label": name,
            "type": "string",
            "fieldType": "text",
            "groupName": f"{object_type.rstrip('s')}information",
            "hasUniqueValue": True,
        }
        try:
            return int(core.create_with_http_info(object_type, body, _preload_content=False).status)
        except Exception as error:
            return int(getattr(error, "status", 0))

    assert define("tasks", "external_ref") == 400  # no unique values on activities
    assert define("deals", "external_ref") == 201
    assert all(define("deals", f"ref_{n}") == 201 for n in range(9))
    assert define("deals", "one_too_many") == 400  # at most 10 a type
    objects = client.crm.objects.basic_api
    made = json.loads(
        objects.create_with_http_info(
            "deals",
            {"properties": {"external_ref": "A-1"}, "associations": []},
            _preload_content=False,
        ).data
    )
    with pytest.raises(ObjectsApiException) as taken:
        objects.create_with_http_info(
            "deals", {"properties": {"external_ref": "A-1"}, "associations": []}
        )
    assert taken.value.status == 400
    assert "already has that value" in json.loads(taken.value.body)["message"]
    read = json.loads(
        objects.get_by_id_with_http_info(
            "deals", "A-1", id_property="external_ref", _preload_content=False
        ).data
    )
    assert read["id"] == made["id"]
    with pytest.raises(ObjectsApiException) as plain:
        objects.get_by_id_with_http_info("deals", "Hooli", id_property="dealname")
    assert plain.value.status == 400


def test_deleted_records_leave_listings_and_show_as_archived(hubspot: HubSpotStandIn) -> None:
    keep, gone = (hubspot.portal.create("notes", {"hs_note_body": b}) for b in ("keep", "gone"))
    client = hubspot.client()

    client.crm.objects.basic_api.archive("notes", gone.id)

    live = client.crm.objects.basic_api.get_page("notes")
    archived = client.crm.objects.basic_api.get_page("notes", archived=True)
    assert [r.id for r in live.results] == [keep.id]
    assert [(r.id, r.archived) for r in archived.results] == [(gone.id, True)]
    assert archived.results[0].archived_at is not None
    assert client.crm.objects.search_api.do_search("notes", _search()).total == 1
    assert hubspot.portal.take_events()[-1]["subscriptionType"] == "object.deletion"


def test_a_merged_record_reads_as_the_survivor(hubspot: HubSpotStandIn) -> None:
    portal = hubspot.portal
    winner = portal.create("contacts", {"email": "ana@acme.example"})
    loser = portal.create("contacts", {"email": "ana@acme.example", "firstname": "Ana"})
    deal = portal.create("deals", {"dealname": "Acme"})
    portal.associate("deals", deal.id, "contacts", loser.id)
    portal.take_events()

    portal.merge("contacts", winner.id, loser.id)
    client = hubspot.client()

    read = client.crm.contacts.basic_api.get_by_id(loser.id, properties=["firstname"])
    assert read.id == winner.id
    assert read.properties["firstname"] == "Ana"  # the loser's values fill the gaps
    assert hubspot.portal.get("contacts", winner.id).properties["hs_merged_object_ids"] == (
        loser.id
    )
    listed = client.crm.contacts.basic_api.get_page()
    assert [r.id for r in listed.results] == [winner.id]
    moved = client.crm.associations.v4.basic_api.get_page("deals", deal.id, "contacts")
    assert [r.to_object_id for r in moved.results] == [winner.id]
    (event,) = portal.take_events()
    assert event["subscriptionType"] == "object.merge"
    assert event["mergedObjectIds"] == [int(loser.id)]
    assert event["primaryObjectId"] == int(winner.id)


def test_updates_move_the_right_modified_date(hubspot: HubSpotStandIn) -> None:
    early = datetime(2026, 1, 5, 9, tzinfo=UTC)
    contact = hubspot.portal.create("contacts", {"email": "x@y.example"}, at=early)
    task = hubspot.portal.create("tasks", {"hs_task_status": "NOT_STARTED"}, at=early)
    client = hubspot.client()

    client.crm.contacts.basic_api.update(contact.id, {"properties": {"lifecyclestage": "lead"}})
    client.crm.objects.tasks.basic_api.update(
        task.id, {"properties": {"hs_task_status": "COMPLETED"}}
    )

    contact_now = client.crm.contacts.basic_api.get_by_id(contact.id).properties
    task_now = client.crm.objects.tasks.basic_api.get_by_id(task.id).properties
    assert "hs_lastmodifieddate" not in contact_now
    # Engagements carry hs_createdate where contacts, companies and deals have createdate.
    assert "createdate" in contact_now and "hs_createdate" in task_now
    assert "createdate" not in task_now
    assert contact_now["lastmodifieddate"] > "2026-01-05T09:00:00.000Z"
    assert task_now["hs_lastmodifieddate"] > "2026-01-05T09:00:00.000Z"
    changes = [e["propertyName"] for e in hubspot.portal.take_events() if "propertyName" in e]
    assert changes == ["lifecyclestage", "hs_task_status"]


# Auth, scopes, faults ------------------------------------------------------------------------


def test_a_missing_scope_answers_403_missing_scopes(hubspot: HubSpotStandIn) -> None:
    hubspot.revoke_scope("sales-email-read")
    client = hubspot.client()

    client.crm.objects.basic_api.get_page("calls")  # contacts scopes are enough for calls
    with pytest.raises(ObjectsApiException) as refused:
        client.crm.objects.basic_api.get_page("emails")

    body = json.loads(refused.value.body)
    assert refused.value.status == 403
    assert body["category"] == "MISSING_SCOPES"
    assert "sales-email-read" in body["errors"][0]["context"]["requiredGranularScopes"]


def test_injected_faults_fail_drop_and_recover(hubspot: HubSpotStandIn) -> None:
    client = hubspot.client(retry=Retry(total=0))
    hubspot.fail_next(2, status=503, endpoint="owners.list")

    for _ in range(2):
        with pytest.raises(OwnersApiException) as failed:
            client.crm.owners.owners_api.get_page()
        assert failed.value.status == 503
    client.crm.owners.owners_api.get_page()

    hubspot.drop_next(1)
    with pytest.raises(urllib3.exceptions.HTTPError):
        client.crm.owners.owners_api.get_page()
    client.crm.owners.owners_api.get_page()
    assert hubspot.count("owners.list", status=200) == 2


# Webhooks ------------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    with _Receiver() as server:
        yield server


def test_webhooks_are_signed_so_hubspots_client_verifies_them(
    hubspot: HubSpotStandIn, receiver: _Receiver
) -> None:
    secret = "client-secret"
    deal = hubspot.portal.create("deals", {"dealname": "Umbrella"})
    hubspot.portal.update("deals", deal.id, {"amount": 10})

    (delivery,) = hubspot.deliver_webhooks(receiver.url, client_secret=secret)

    assert delivery.status == 204
    (request,) = receiver.received
    headers, body = request
    assert _verifies(webhooks.Delivery(receiver.url, body, headers), secret)
    events = json.loads(body)
    assert [e["subscriptionType"] for e in events] == ["object.creation", "object.propertyChange"]
    assert events[1]["objectTypeId"] == "0-3"
    assert events[1]["propertyValue"] == "10"
    assert events[0]["eventId"] != events[1]["eventId"]
    assert isinstance(events[0]["occurredAt"], int)


def test_forged_stale_and_replayed_webhooks(hubspot: HubSpotStandIn, receiver: _Receiver) -> None:
    secret = "client-secret"
    hubspot.portal.create("companies", {"name": "Soylent"})
    events = hubspot.portal.take_events()

    forged = webhooks.signed_delivery(receiver.url, events, client_secret=secret, forge=True)
    stale = webhooks.signed_delivery(receiver.url, events, client_secret=secret, stale=True)
    good = webhooks.signed_delivery(receiver.url, events, client_secret=secret)
    good.send()
    good.resend()

    assert not _verifies(forged, secret)
    with pytest.raises(InvalidSignatureTimestampError):
        _verifies(stale, secret)
    assert receiver.received[0] == receiver.received[1]  # a replay is byte for byte the same


def test_undelivered_events_are_retried_with_a_higher_attempt_number(
    hubspot: HubSpotStandIn, receiver: _Receiver
) -> None:
    hubspot.portal.create("contacts", {"email": "retry@x.example"})
    receiver.status = 500
    (failed,) = hubspot.deliver_webhooks(receiver.url, client_secret="s")
    receiver.status = 204
    (retried,) = hubspot.deliver_webhooks(receiver.url, client_secret="s")

    assert failed.status == 500
    assert retried.events[0]["eventId"] == failed.events[0]["eventId"]
    assert retried.events[0]["attemptNumber"] == 1


def _verifies(delivery: webhooks.Delivery, secret: str) -> bool:
    """What a receiver using HubSpot's client concludes about a delivery's v3 signature."""
    headers = {name.lower(): value for name, value in delivery.headers.items()}
    valid: bool = Signature.is_valid(
        signature=headers["x-hubspot-signature-v3"],
        client_secret=secret,
        request_body=delivery.body,
        http_uri=delivery.url,
        signature_version="v3",
        timestamp=headers["x-hubspot-request-timestamp"],
    )
    return valid


def test_legacy_subscriptions_name_the_object_in_the_type(
    hubspot: HubSpotStandIn, receiver: _Receiver
) -> None:
    contact = hubspot.portal.create("contacts", {"email": "old@x.example"})
    hubspot.portal.archive("contacts", contact.id)

    (delivery,) = hubspot.deliver_webhooks(receiver.url, client_secret="s", legacy_format=True)

    kinds = [e["subscriptionType"] for e in delivery.events]
    assert kinds == ["contact.creation", "contact.deletion"]
    assert "objectTypeId" not in delivery.events[0]


class _Receiver:
    """A tiny HTTP endpoint that records what it receives (a webhook target)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], str]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hubspot/webhooks"

    def __enter__(self) -> _Receiver:
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# The demo organisation -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_hubspot() -> Iterator[tuple[HubSpotStandIn, LoadedPortal]]:
    with running_hubspot() as standin:
        loaded = load_demo_portal(standin.portal, now=FIXED_NOW)
        standin.limits.enabled = False
        yield standin, loaded


def test_the_demo_organisation_reads_back_through_the_client(
    demo_hubspot: tuple[HubSpotStandIn, LoadedPortal],
) -> None:
    hubspot, loaded = demo_hubspot
    client = hubspot.client()

    owners = client.crm.owners.get_all()
    dana = next(o for o in owners if o.email == loaded.rep_email)
    assert len(owners) == loaded.counts["owners"] == 16
    assert dana.teams[0].name == "West"

    featured = client.crm.deals.search_api.do_search(
        _search(
            filter_groups=_one_filter("dealname", "EQ", "Globex - Platform expansion"),
            properties=["dealstage", "hubspot_owner_id", "pipeline"],
        )
    )
    (deal,) = featured.results
    assert deal.properties["hubspot_owner_id"] == dana.id
    stages = client.crm.pipelines.pipelines_api.get_all("deals").results[0].stages
    stage = next(s for s in stages if s.id == deal.properties["dealstage"])
    assert stage.metadata["isClosed"] == "false"

    calls = client.crm.objects.get_all("calls", properties=["hs_call_disposition"])
    labels = {d["id"]: d["label"] for d in _get(hubspot, "/calling/v1/dispositions")}
    used = {
        labels[c.properties["hs_call_disposition"]]
        for c in calls
        if c.properties["hs_call_disposition"]
    }
    assert used <= set(labels.values()) and "Connected" in used

    tasks_of_deal = client.crm.associations.v4.basic_api.get_page("deals", deal.id, "tasks")
    assert tasks_of_deal.results
    assert loaded.hubspot_id("deals", "demo-deal-00001") in {
        r.id for r in client.crm.deals.get_all()
    }


def test_demo_contacts_keep_their_owner_history(
    demo_hubspot: tuple[HubSpotStandIn, LoadedPortal],
) -> None:
    hubspot, _loaded = demo_hubspot
    client = hubspot.client()
    page = client.crm.contacts.basic_api.get_page(
        limit=50, properties=["hubspot_owner_id"], properties_with_history=["hubspot_owner_id"]
    )
    owned = [r for r in page.results if r.properties["hubspot_owner_id"]]
    assert owned
    for record in owned:
        newest = record.properties_with_history["hubspot_owner_id"][0]
        assert newest.value == record.properties["hubspot_owner_id"]
    with pytest.raises(ContactsApiException):
        client.crm.contacts.basic_api.get_page(
            limit=51, properties_with_history=["hubspot_owner_id"]
        )


def _get(hubspot: HubSpotStandIn, path: str) -> Any:
    request = urllib.request.Request(
        hubspot.base_url + path, headers={"Authorization": f"Bearer {hubspot.token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_runs_as_a_process_with_the_demo_loaded() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.hubspot_api", "--demo", "--no-limits"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        started = json.loads(process.stdout.readline())
        hubspot = HubSpot(access_token=started["token"], host=started["base_url"])
        owners = hubspot.crm.owners.owners_api.get_page(limit=100).results
        assert started["rep"] in {o.email for o in owners}
        counts = _control(started, "/_standin/requests")
        assert counts["byEndpoint"] == {"owners.list": 1}
    finally:
        process.terminate()
        process.wait(timeout=10)


def _control(started: dict[str, Any], path: str) -> Any:
    request = urllib.request.Request(
        started["base_url"] + path, headers={"Authorization": f"Bearer {started['token']}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


# Properties and search lag -------------------------------------------------------------------


def test_properties_api_lists_types_and_enumeration_options(hubspot: HubSpotStandIn) -> None:
    hubspot.portal.create("tasks", {"hs_task_status": "WAITING", "hs_timestamp": FIXED_NOW})
    client = hubspot.client()

    definitions = {p.name: p for p in client.crm.properties.core_api.get_all("tasks").results}

    status = definitions["hs_task_status"]
    assert status.type == "enumeration"
    assert [o.value for o in status.options] == [
        "NOT_STARTED",
        "IN_PROGRESS",
        "WAITING",
        "COMPLETED",
        "DEFERRED",
    ]
    assert definitions["hs_timestamp"].type == "datetime"
    assert "hs_createdate" in definitions


def test_search_lag_hides_a_fresh_change_until_the_index_catches_up(
    hubspot: HubSpotStandIn,
) -> None:
    now = [datetime(2026, 3, 2, 12, tzinfo=UTC)]
    hubspot.portal.clock = lambda: now[0]
    hubspot.portal.search_lag = timedelta(seconds=5)
    hubspot.portal.create("deals", {"dealname": "Fresh"})
    client = hubspot.client()

    assert client.crm.deals.search_api.do_search(_search()).total == 0
    assert len(client.crm.deals.basic_api.get_page().results) == 1  # reads are not lagged
    now[0] += timedelta(seconds=6)
    assert client.crm.deals.search_api.do_search(_search()).total == 1
