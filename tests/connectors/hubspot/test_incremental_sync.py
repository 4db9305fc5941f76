"""Incremental syncs: changes, deletions, merges and bulk updates reach the store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from connectors.hubspot import OfficialClient, RateLimiter, Syncer
from storage.models import Activity, ActivityKind, Company, Contact, Deal, TaskStatus
from tests.connectors.hubspot.conftest import SmallPortal
from tests.support.hubspot import HubSpotStandIn


def _sync(engine: Engine, api: OfficialClient, *, full: bool = False) -> Syncer:
    syncer = Syncer(engine, api, archived_sweep_every=timedelta(0))
    syncer.run(full=full)
    return syncer


def test_changes_deletions_and_new_records_arrive(
    sqlite_engine: Engine, api: OfficialClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    _sync(sqlite_engine, api, full=True)
    portal = hubspot.portal
    portal.update("tasks", small_portal.task, {"hs_task_status": "COMPLETED"})
    portal.update("deals", small_portal.deal, {"hubspot_owner_id": small_portal.sam})
    portal.archive("calls", small_portal.call)
    note = portal.create("notes", {"hs_note_body": "<p>Budget <b>approved</b></p>"})
    portal.associate("notes", note.id, "deals", small_portal.deal)

    _sync(sqlite_engine, api)

    with Session(sqlite_engine) as session:
        task = session.scalars(select(Activity).where(Activity.kind == ActivityKind.TASK)).one()
        assert task.status == TaskStatus.COMPLETED
        deal = session.scalars(select(Deal)).one()
        assert deal.owner_id is not None
        assert (
            session.scalars(select(Activity).where(Activity.kind == ActivityKind.CALL)).all() == []
        )
        new_note = session.scalars(select(Activity).where(Activity.kind == ActivityKind.NOTE)).one()
        assert new_note.body == "Budget approved" and [d.id for d in new_note.deals] == [deal.id]


def test_a_merged_contact_leaves_its_links_to_the_survivor(
    sqlite_engine: Engine, api: OfficialClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    portal = hubspot.portal
    twin = portal.create("contacts", {"firstname": "Ada", "email": "ada.l@acme.example"})
    task = portal.create("tasks", {"hs_task_subject": "Call Ada", "hs_timestamp": portal.now()})
    portal.associate("tasks", task.id, "contacts", twin.id)
    _sync(sqlite_engine, api, full=True)

    portal.merge("contacts", small_portal.ada, twin.id)
    _sync(sqlite_engine, api)

    with Session(sqlite_engine) as session:
        contacts = session.scalars(select(Contact)).all()
        assert [c.external_id for c in contacts] == [small_portal.ada]
        call_ada = session.scalars(select(Activity).where(Activity.subject == "Call Ada")).one()
        assert [c.external_id for c in call_ada.contacts] == [small_portal.ada]


@pytest.mark.slow
def test_twelve_thousand_records_with_one_timestamp_all_arrive_once(
    sqlite_engine: Engine, hubspot: HubSpotStandIn
) -> None:
    portal = hubspot.portal
    ids = [portal.create("companies", {"name": f"Company {n}"}).id for n in range(12_000)]
    hubspot.limits.search_per_second = 100
    hubspot.limits.per_ten_seconds = 10_000
    api = OfficialClient(
        token=hubspot.token, api_url=hubspot.base_url, limiter=RateLimiter(search_per_second=100)
    )
    _sync(sqlite_engine, api, full=True)
    portal.bulk_update("companies", ids, {"domain": "bulk.example"}, at=portal.now())

    _sync(sqlite_engine, api)

    with Session(sqlite_engine) as session:
        total = session.scalar(select(func.count()).select_from(Company))
        updated = session.scalar(
            select(func.count()).select_from(Company).where(Company.domain == "bulk.example")
        )
    assert (total, updated) == (12_000, 12_000)
    searches = [r for r in hubspot.requests if r.path.endswith("/search")]
    assert all(r.status == 200 for r in searches)
