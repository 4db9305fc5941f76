"""Pipelines (with their stages) and workspace settings: a handful of rows, one by one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select

from storage.defaults import ensure_default_pipelines
from storage.snapshot.fields import SPECS
from storage.snapshot.job import Job
from storage.snapshot.tables import PIPELINES, STAGES, WORKSPACE


def default_pipelines_if_none(job: Job) -> None:
    """HubSpot's default pipelines, for a file without pipelines and a database without any."""
    if job.conn.scalar(select(func.count()).select_from(PIPELINES)) == 0:
        ensure_default_pipelines(job.session)
        job.session.flush()
        job.ids.forget_pipelines()
        job.report.counts("pipelines").inserted += 2


def write_pipelines(job: Job, parsed: list[tuple[int, dict[str, Any]]]) -> None:
    """Insert or update each pipeline and its stages (stages are never deleted)."""
    counts = job.report.counts("pipelines")
    known = job.ids.pipelines()
    for index, values in parsed:
        stage_ids = [s["id"] for s in values["stages"]]
        if len(set(stage_ids)) != len(stage_ids):
            job.problems.add(f"pipelines[{index}].stages", "two stages with the same id")
            continue
        kind, ext = values["object_type"], values["id"]
        pipeline_id = known.get((kind, ext))
        touched = False
        is_new = pipeline_id is None
        if pipeline_id is None:
            pipeline_id = job.conn.execute(
                insert(PIPELINES)
                .values(external_id=ext, object_type=kind, label=values["label"])
                .returning(PIPELINES.c.id)
            ).scalar_one()
            known[(kind, ext)] = pipeline_id
            counts.inserted += 1
            job.report.rows_written += 1
        else:
            touched = _relabel(job, pipeline_id, values["label"])
        touched = _write_stages(job, pipeline_id, values["stages"]) or touched
        if not is_new:
            if touched:
                counts.updated += 1
            else:
                counts.unchanged += 1


def _relabel(job: Job, pipeline_id: int, label: str) -> bool:
    current = job.conn.scalar(select(PIPELINES.c.label).where(PIPELINES.c.id == pipeline_id))
    if current == label:
        return False
    job.conn.execute(PIPELINES.update().where(PIPELINES.c.id == pipeline_id).values(label=label))
    return True


def _write_stages(job: Job, pipeline_id: int, stages: list[dict[str, Any]]) -> bool:
    """Insert new stages and update changed ones; True when anything was written."""
    current = {
        row["external_id"]: row
        for row in job.conn.execute(
            select(STAGES).where(STAGES.c.pipeline_id == pipeline_id)
        ).mappings()
    }
    stage_map = job.ids.stages.setdefault(pipeline_id, {})
    touched = False
    for order, stage in enumerate(stages):
        row = {
            "label": stage["label"],
            "display_order": order,
            "state": stage["state"],
            "probability": stage["probability"],
        }
        old = current.get(stage["id"])
        if old is None:
            stage_map[stage["id"]] = job.conn.execute(
                insert(STAGES)
                .values(pipeline_id=pipeline_id, external_id=stage["id"], **row)
                .returning(STAGES.c.id)
            ).scalar_one()
        elif any(old[c] != v for c, v in row.items()):
            job.conn.execute(STAGES.update().where(STAGES.c.id == old["id"]).values(**row))
        else:
            continue
        touched = True
        job.report.rows_written += 1
    return touched


def write_workspace(job: Job, raw: dict[str, Any]) -> None:
    """Check and write the one row of workspace settings."""
    values, problems = SPECS["workspace_settings"].parse(raw)
    for name, message in problems:
        job.problems.add(f"workspace_settings.{name}", message)
    if problems:
        return
    counts = job.report.counts("workspace_settings")
    current = job.conn.execute(select(WORKSPACE).where(WORKSPACE.c.id == 1)).mappings().first()
    if current is None:
        job.conn.execute(insert(WORKSPACE).values(id=1, **values))
        counts.inserted += 1
    elif any(current[c] != v for c, v in values.items()):
        job.conn.execute(WORKSPACE.update().where(WORKSPACE.c.id == 1).values(**values))
        counts.updated += 1
    else:
        counts.unchanged += 1
        return
    job.report.rows_written += 1
