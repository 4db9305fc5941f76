"""HubSpot's default pipelines, used by the demo, the tests and a fresh import."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Pipeline, PipelineObject, PipelineStage, StageState

DEFAULT_DEAL_STAGES: list[tuple[str, str, StageState, float]] = [
    ("appointmentscheduled", "Appointment scheduled", StageState.OPEN, 0.2),
    ("qualifiedtobuy", "Qualified to buy", StageState.OPEN, 0.4),
    ("presentationscheduled", "Presentation scheduled", StageState.OPEN, 0.6),
    ("decisionmakerboughtin", "Decision maker bought-in", StageState.OPEN, 0.8),
    ("contractsent", "Contract sent", StageState.OPEN, 0.9),
    ("closedwon", "Closed won", StageState.WON, 1.0),
    ("closedlost", "Closed lost", StageState.LOST, 0.0),
]

DEFAULT_LEAD_STAGES: list[tuple[str, str, StageState, float]] = [
    ("new", "New", StageState.OPEN, 0.1),
    ("attempting", "Attempting", StageState.OPEN, 0.2),
    ("connected", "Connected", StageState.OPEN, 0.4),
    ("qualified", "Qualified", StageState.WON, 1.0),
    ("disqualified", "Disqualified", StageState.LOST, 0.0),
]


def ensure_default_pipelines(session: Session) -> tuple[Pipeline, Pipeline]:
    """Create the ``default`` deal pipeline and ``lead-pipeline`` if missing; return both."""
    deal = _ensure(session, PipelineObject.DEAL, "default", "Sales pipeline", DEFAULT_DEAL_STAGES)
    lead = _ensure(session, PipelineObject.LEAD, "lead-pipeline", "Leads", DEFAULT_LEAD_STAGES)
    return deal, lead


def _ensure(
    session: Session,
    object_type: PipelineObject,
    external_id: str,
    label: str,
    stages: list[tuple[str, str, StageState, float]],
) -> Pipeline:
    pipeline = session.scalar(
        select(Pipeline).where(
            Pipeline.object_type == object_type, Pipeline.external_id == external_id
        )
    )
    if pipeline is not None:
        return pipeline
    pipeline = Pipeline(external_id=external_id, object_type=object_type, label=label)
    session.add(pipeline)
    session.flush()
    for order, (stage_id, stage_label, state, probability) in enumerate(stages):
        session.add(
            PipelineStage(
                pipeline_id=pipeline.id,
                external_id=stage_id,
                label=stage_label,
                display_order=order,
                state=state,
                probability=probability,
            )
        )
    session.flush()
    return pipeline
