"""Form errors land under the field the domain names, whatever the sentence says."""

from __future__ import annotations

import dataclasses

from handlers.render.deal_modals import DEAL_FIELDS
from handlers.render.outcome_modals import OUTCOME_FIELDS
from handlers.render.task_modals import TASK_FIELDS
from rules.deals.ops import DealChange, DealDraft
from rules.tasks.ops import TaskDraft, TaskEdit


def test_every_field_a_form_routes_is_one_the_domain_names() -> None:
    """A renamed draft attribute must not silently send its errors to the default field."""
    task_names = {f.name for cls in (TaskDraft, TaskEdit) for f in dataclasses.fields(cls)}
    deal_names = {f.name for cls in (DealDraft, DealChange) for f in dataclasses.fields(cls)}
    assert set(TASK_FIELDS.blocks) <= task_names
    assert set(DEAL_FIELDS.blocks) <= deal_names


def test_a_refusal_goes_under_its_field_or_the_forms_first() -> None:
    assert TASK_FIELDS.block_for("due_at") == "due_date"
    assert TASK_FIELDS.block_for("notes") == "notes"
    assert TASK_FIELDS.block_for(None) == "subject"
    assert DEAL_FIELDS.block_for("amount") == "amount"
    assert DEAL_FIELDS.block_for("close_date") == "stage"
    assert OUTCOME_FIELDS.block_for("disposition") == "outcome"
