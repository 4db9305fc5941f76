"""Association changes without webhooks: the sweep picks them up and the guided actions
follow (docs/hubspot.md, "Association changes")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from bot.hubspot_sweep import AssociationSweeper, sweep_and_apply
from connectors.hubspot import OfficialClient, Syncer, take_lease
from rules.guided_actions import evaluate
from storage.models import ActionState, Activity, ActivityKind, Deal, GuidedActionItem, User
from tests.connectors.hubspot.conftest import SmallPortal
from tests.support.hubspot import HubSpotStandIn

NOW = datetime.now(UTC).replace(microsecond=0)


def _sync(engine: Engine, api: OfficialClient, *, full: bool = False) -> None:
    # A quarter of an hour on: the incremental pass starts after every record's last change.
    later = NOW + timedelta(minutes=15)
    Syncer(engine, api, clock=lambda: later, archived_sweep_every=timedelta(0)).run(full=full)


def _add_contact_items(engine: Engine) -> dict[str, ActionState]:
    """Rule 17 ("add a contact to this deal") items by deal name."""
    with Session(engine) as session:
        evaluate(session, now=NOW)
        session.commit()
        rows = session.execute(
            select(Deal.name, GuidedActionItem.state)
            .join(GuidedActionItem, GuidedActionItem.object_id == Deal.id)
            .where(GuidedActionItem.action_type == "add_contact_to_deal")
        )
        return {str(name): state for name, state in rows}


def test_an_association_added_without_a_modified_date_arrives_with_the_sweep(
    sqlite_engine: Engine, api: OfficialClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    portal = hubspot.portal
    lonely = portal.create(
        "deals",
        {
            "dealname": "Acme - Lonely",
            "pipeline": "default",
            "dealstage": "appointmentscheduled",
            "hubspot_owner_id": small_portal.dana,
            "createdate": NOW - timedelta(days=10),
        },
    )
    _sync(sqlite_engine, api, full=True)
    assert _add_contact_items(sqlite_engine) == {"Acme - Lonely": ActionState.OPEN}

    portal.associate("deals", lonely.id, "contacts", small_portal.ada)
    portal.dissociate("tasks", small_portal.task, "deals", small_portal.deal)
    _sync(sqlite_engine, api)  # an incremental sync does not see either change
    assert _add_contact_items(sqlite_engine) == {"Acme - Lonely": ActionState.OPEN}

    with Session(sqlite_engine) as session:
        session.execute(
            update(User).where(User.email == "dana@northwind.example").values(slack_user_id="UDANA")
        )
        session.commit()
    hubspot.clear()
    published: list[str] = []
    sweeper = AssociationSweeper(
        sqlite_engine,
        api,
        every=timedelta(hours=1),
        holder="replica-1",
        lease_ttl=timedelta(minutes=10),
        publish=published.extend,
    )
    swept = sweeper.sweep_now()

    assert swept.skipped_reason is None and swept.report.changed == 2
    assert published == ["UDANA"]  # her Home tab follows
    assert _add_contact_items(sqlite_engine) == {"Acme - Lonely": ActionState.EXPIRED}
    with Session(sqlite_engine) as session:
        dana = session.scalars(select(User).where(User.email == "dana@northwind.example")).one()
        assert swept.users == {dana.id}
        deal = session.scalars(select(Deal).where(Deal.name == "Acme - Lonely")).one()
        assert [c.email for c in deal.contacts] == ["ada@acme.example"]
        task = session.scalars(select(Activity).where(Activity.kind == ActivityKind.TASK)).one()
        assert task.deals == []
    # One batch read per target type of the open deals (2) and of the open task (4), 1,000
    # records a request; the January call is past the sweep's 30 days. Then the two changed
    # records read again.
    assert hubspot.count("associations.batch_read") == 2 + 4
    assert hubspot.count("objects.batch_read") == 2


def test_the_sweep_waits_while_a_sync_holds_the_lease(
    sqlite_engine: Engine, api: OfficialClient, small_portal: SmallPortal
) -> None:
    with Session(sqlite_engine) as session:
        assert take_lease(session, holder="replica-2", now=NOW, ttl=timedelta(minutes=10))
        session.commit()
    swept = sweep_and_apply(
        sqlite_engine, api, holder="replica-1/associations", lease_ttl=timedelta(minutes=10)
    )
    assert swept.skipped_reason == "another replica is syncing"


def test_a_spent_daily_budget_stops_the_sweep_cleanly(
    sqlite_engine: Engine, api: OfficialClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    _sync(sqlite_engine, api, full=True)
    hubspot.limits.daily = hubspot.limits.daily_used  # nothing left today
    swept = sweep_and_apply(
        sqlite_engine, api, holder="replica-1/associations", lease_ttl=timedelta(minutes=10)
    )
    assert swept.skipped_reason == "daily API budget spent" and swept.users == set()
    with Session(sqlite_engine) as session:
        assert take_lease(session, holder="replica-2", now=NOW, ttl=timedelta(minutes=10))
