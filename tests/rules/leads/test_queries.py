"""The Leads view: the user's leads in every stage of the pipeline."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from rules.leads.queries import leads_by_stage
from tests.builders import CRM


def test_leads_by_stage_lists_every_stage_in_order(any_engine: Engine, now: datetime) -> None:
    with Session(any_engine) as session:
        crm = CRM(session, now)
        rep, other = crm.user(), crm.user()
        target = crm.company(name="Globex", is_target_account=True)
        for days in (3, 1, 2):
            crm.lead(
                rep, stage="new", name=f"New {days}d", stage_changed_at=now - timedelta(days=days)
            )
        crm.lead(rep, stage="connected", name="Talking", company_id=target.id)
        crm.lead(
            rep,
            stage="disqualified",
            name="No budget",
            disqualified_at=now,
            disqualification_reason="No budget",
        )
        crm.lead(other, stage="new", name="Not mine")
        session.commit()

        board = leads_by_stage(session, rep)
        assert [c.label for c in board.columns] == [
            "New",
            "Attempting",
            "Connected",
            "Qualified",
            "Disqualified",
        ]
        assert [lead.name for lead in board.column("New").leads] == ["New 1d", "New 2d", "New 3d"]
        assert board.column("Attempting").total == 0
        assert board.column("Connected").leads[0].is_target_account
        assert board.column("Disqualified").leads[0].disqualification_reason == "No budget"
        assert board.total == 5

        open_only = leads_by_stage(session, rep, include_closed=False, per_stage=2)
        assert [c.label for c in open_only.columns] == ["New", "Attempting", "Connected"]
        new = open_only.column("New")
        assert (len(new.leads), new.total) == (2, 3)
