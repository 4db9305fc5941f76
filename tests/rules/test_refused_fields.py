"""A refused value names the field it came in, so a form shows the error under that field."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from rules.deals.ops import DealChange, DealDraft, create_deal, update_deal
from rules.meetings.ops import log_call_outcome, log_meeting_outcome
from rules.op_result import OpStatus
from rules.tasks.ops import TaskDraft, TaskEdit, create_task, edit_task, reschedule_task
from tests.builders import CRM


def test_task_writes_name_the_refused_field(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    task = crm.task(rep)
    due = now + timedelta(days=1)

    def created(**changes: Any) -> str | None:
        draft = dataclasses.replace(TaskDraft(subject="Call", due_at=due), **changes)
        result = create_task(session, rep, draft, now=now)
        assert result.status is OpStatus.INVALID
        return result.field

    assert created(subject=" ") == "subject"
    assert created(subject="x" * 600) == "subject"
    assert created(priority="urgent") == "priority"
    assert created(task_type="fax") == "task_type"
    assert created(notes="x" * 10_001) == "notes"
    assert created(deal_id=999_999) == "deal_id"
    edited = edit_task(session, rep, task.id, edit=TaskEdit(subject=""), now=now)
    assert (edited.status, edited.field) == (OpStatus.INVALID, "subject")
    past = reschedule_task(session, rep, task.id, to=(now - timedelta(days=9)).date(), now=now)
    assert (past.status, past.field) == (OpStatus.INVALID, "to")


def test_deal_and_outcome_writes_name_the_refused_field(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    deal = crm.deal(rep)
    assert create_deal(session, rep, DealDraft(name=""), now=now).field == "name"
    assert create_deal(session, rep, DealDraft(name="A", amount="lots"), now=now).field == "amount"
    assert create_deal(session, rep, DealDraft(name="A", stage_id="0"), now=now).field == "stage_id"
    long_step = DealChange(next_step="x" * 5_001)
    assert update_deal(session, rep, deal.id, change=long_step, now=now).field == "next_step"
    meeting = crm.meeting(rep, starts_at=now - timedelta(hours=2))
    assert log_meeting_outcome(session, rep, meeting.id, outcome="?", now=now).field == "outcome"
    call = crm.call(rep)
    assert log_call_outcome(session, rep, call.id, disposition="", now=now).field == "disposition"
    refused = log_call_outcome(session, rep, call.id, disposition="Connected", status="?", now=now)
    assert refused.field == "status"
