"""The HubSpot stand-in, driven through HubSpot's own client: it must answer like HubSpot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.objects import PublicObjectSearchRequest

from tests.support.hubspot_api import HubSpotStandIn, running_hubspot


@pytest.fixture
def hubspot() -> Iterator[HubSpotStandIn]:
    with running_hubspot() as standin:
        yield standin


def _search(**kwargs: object) -> PublicObjectSearchRequest:
    return PublicObjectSearchRequest(**kwargs)


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
    from hubspot import HubSpot

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
