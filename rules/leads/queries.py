"""The Leads view: a user's leads by stage of the lead pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from rules.records import RecordRef, contact_display_name
from storage.models import (
    Company,
    Contact,
    Lead,
    Pipeline,
    PipelineObject,
    PipelineStage,
    StageState,
    User,
)


@dataclass(frozen=True)
class LeadRow:
    id: int
    name: str
    contact: RecordRef | None
    company: RecordRef | None
    is_target_account: bool
    created_at: datetime
    # When the lead entered its current stage.
    in_stage_since: datetime | None
    disqualification_reason: str | None


@dataclass(frozen=True)
class LeadStageColumn:
    """One stage of the board, with its leads (newest in stage first)."""

    stage_id: int
    label: str
    state: StageState
    display_order: int
    pipeline_label: str
    leads: tuple[LeadRow, ...]
    # All of the user's leads in this stage; ``leads`` may be cut at the per-stage limit.
    total: int

    @property
    def is_open(self) -> bool:
        return self.state is StageState.OPEN


@dataclass(frozen=True)
class LeadsBoard:
    owner_id: int
    columns: tuple[LeadStageColumn, ...]

    @property
    def total(self) -> int:
        return sum(column.total for column in self.columns)

    def column(self, label: str) -> LeadStageColumn:
        """The column whose stage label is ``label`` (KeyError when there is none)."""
        for column in self.columns:
            if column.label == label:
                return column
        raise KeyError(label)


def leads_by_stage(
    session: Session,
    user: User,
    *,
    include_closed: bool = True,
    per_stage: int = 25,
) -> LeadsBoard:
    """The user's leads (lead owner = user) grouped by every stage of the lead pipelines.

    Every stage appears, empty ones too, in pipeline order; each column lists at most
    ``per_stage`` leads (the most recent to enter the stage first) and says how many there are.

    Args:
        session: An open session.
        user: The lead owner.
        include_closed: Keep the Qualified and Disqualified stages.
        per_stage: The most leads listed in one column (at least 1).
    """
    if per_stage < 1:
        raise ValueError("per_stage must be positive")
    stage_query = (
        select(PipelineStage, Pipeline.label)
        .join(Pipeline, Pipeline.id == PipelineStage.pipeline_id)
        .where(Pipeline.object_type == PipelineObject.LEAD)
        .order_by(Pipeline.label, Pipeline.id, PipelineStage.display_order)
    )
    if not include_closed:
        stage_query = stage_query.where(PipelineStage.state == StageState.OPEN)
    stages = session.execute(stage_query).all()

    counts = dict(
        session.execute(
            select(Lead.stage_id, func.count())
            .where(Lead.owner_id == user.id)
            .group_by(Lead.stage_id)
        ).all()
    )
    ranked = (
        select(
            Lead.id.label("id"),
            func.row_number()
            .over(
                partition_by=Lead.stage_id,
                order_by=(Lead.stage_changed_at.desc().nulls_last(), Lead.id.desc()),
            )
            .label("position"),
        )
        .where(Lead.owner_id == user.id)
        .subquery()
    )
    contact = aliased(Contact)
    company = aliased(Company)
    rows = session.execute(
        select(Lead, contact, company)
        .join(ranked, ranked.c.id == Lead.id)
        .outerjoin(contact, contact.id == Lead.contact_id)
        .outerjoin(company, company.id == Lead.company_id)
        .where(ranked.c.position <= per_stage)
        .order_by(Lead.stage_changed_at.desc().nulls_last(), Lead.id.desc())
    ).all()
    by_stage: dict[int, list[LeadRow]] = {}
    for lead, lead_contact, lead_company in rows:
        by_stage.setdefault(lead.stage_id, []).append(
            LeadRow(
                id=lead.id,
                name=lead.name,
                contact=RecordRef(
                    lead_contact.id,
                    contact_display_name(
                        lead_contact.first_name, lead_contact.last_name, lead_contact.email
                    ),
                )
                if lead_contact
                else None,
                company=RecordRef(lead_company.id, lead_company.name) if lead_company else None,
                is_target_account=bool(lead_company and lead_company.is_target_account),
                created_at=lead.created_at,
                in_stage_since=lead.stage_changed_at,
                disqualification_reason=lead.disqualification_reason,
            )
        )
    return LeadsBoard(
        owner_id=user.id,
        columns=tuple(
            LeadStageColumn(
                stage_id=stage.id,
                label=stage.label,
                state=StageState(stage.state),
                display_order=stage.display_order,
                pipeline_label=pipeline_label,
                leads=tuple(by_stage.get(stage.id, [])),
                total=int(counts.get(stage.id, 0)),
            )
            for stage, pipeline_label in stages
        ),
    )
