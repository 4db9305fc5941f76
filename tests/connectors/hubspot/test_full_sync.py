"""A full sync puts a portal's records into the store."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connectors.hubspot import OfficialClient, Syncer
from storage.models import Activity, ActivityKind, Company, Contact, Deal, StageState, User
from tests.connectors.hubspot.conftest import SmallPortal


def test_full_sync_fills_the_store(
    any_engine: Engine, api: OfficialClient, small_portal: SmallPortal
) -> None:
    result = Syncer(any_engine, api).run(full=True)

    assert result.stopped is None
    with Session(any_engine) as session:
        dana = session.scalars(select(User).where(User.external_id == small_portal.dana)).one()
        assert dana.name == "Dana Reyes" and dana.team is not None and dana.team.name == "Berlin"
        company = session.scalars(select(Company)).one()
        assert company.name == "Acme" and company.owner_id == dana.id
        contact = session.scalars(select(Contact)).one()
        assert contact.company_id == company.id and contact.lifecycle_stage == "lead"
        deal = session.scalars(select(Deal)).one()
        assert deal.stage.state == StageState.OPEN and deal.company_id == company.id
        assert [c.id for c in deal.contacts] == [contact.id]
        task = session.scalars(select(Activity).where(Activity.kind == ActivityKind.TASK)).one()
        assert task.subject == "Send the proposal" and [d.id for d in task.deals] == [deal.id]
        call = session.scalars(select(Activity).where(Activity.kind == ActivityKind.CALL)).one()
        assert call.outcome == "Connected" and call.duration_seconds == 125


def test_a_second_full_sync_changes_nothing(
    any_engine: Engine, api: OfficialClient, small_portal: SmallPortal
) -> None:
    Syncer(any_engine, api).run(full=True)
    with Session(any_engine) as session:
        before = [(a.id, a.subject, a.updated_at) for a in session.scalars(select(Activity))]

    again = Syncer(any_engine, api).run(full=True)

    assert again.problems == []
    with Session(any_engine) as session:
        assert [
            (a.id, a.subject, a.updated_at) for a in session.scalars(select(Activity))
        ] == before
