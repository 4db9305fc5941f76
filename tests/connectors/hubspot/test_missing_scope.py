"""A portal whose private app lacks one read scope (leads exist on some tiers only): the
other types sync, and the sync names the type and the scope."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from connectors.hubspot import OfficialClient, Syncer
from storage.models import Activity, Deal
from tests.connectors.hubspot.conftest import SmallPortal
from tests.support.hubspot import HubSpotStandIn


def test_without_the_leads_scope_everything_else_syncs_and_the_scope_is_named(
    sqlite_engine: Engine, api: OfficialClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    hubspot.revoke_scope("crm.objects.leads.read")

    result = Syncer(sqlite_engine, api).run(full=True)

    with Session(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(Deal)) == 1
        assert session.scalar(select(func.count()).select_from(Activity)) == 2
    assert result.stopped is not None
    assert result.stopped.startswith("not synced for want of a scope: leads: ")
    assert "crm.objects.leads.read" in result.stopped
    assert "refused the token" not in result.stopped
