"""Reopening a completed task: "Complete" undone, by whoever may complete it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from rules.op_result import OpStatus
from rules.tasks.ops import complete_task, reopen_task
from rules.tasks.queries import open_tasks, recently_completed_tasks
from storage.changes import last_change
from storage.models import ChangeKind, DealVisibility, OwnedObject, Role, TaskStatus
from tests.builders import CRM


def test_a_completed_task_reopens_and_is_open_again(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user(name="Dana")
    task = crm.task(rep, subject="Call Acme")
    assert complete_task(session, rep, task.id, now=now).changed
    assert [t.id for t in recently_completed_tasks(session, rep, now=now).tasks] == [task.id]

    result = reopen_task(session, rep, str(task.id), now=now + timedelta(minutes=1))

    assert result.changed and result.message == "Done: 'Call Acme' reopened."
    assert (task.status, task.completed_at, task.completed_by_id) == (
        TaskStatus.NOT_STARTED,
        None,
        None,
    )
    assert [t.id for t in open_tasks(session, rep, now=now).tasks] == [task.id]
    assert recently_completed_tasks(session, rep, now=now).total == 0
    change = last_change(
        session, object_type=OwnedObject.ACTIVITY, object_id=task.id, kind=ChangeKind.REOPENED
    )
    assert change is not None and change.actor_id == rep.id
    again = reopen_task(session, rep, task.id, now=now)
    assert again.status is OpStatus.ALREADY
    assert again.message == "'Call Acme' is open: there is nothing to reopen."


def test_only_who_may_complete_a_task_may_reopen_it(
    session: Session, crm: CRM, now: datetime
) -> None:
    team = crm.team()
    dana = crm.user(name="Dana", team_id=team.id)
    sam = crm.user(name="Sam", team_id=team.id, deal_visibility=DealVisibility.TEAM)
    boss = crm.user(name="Mo", team_id=team.id, role=Role.MANAGER)
    task = crm.task(dana, status=TaskStatus.COMPLETED, completed_at=now, completed_by_id=dana.id)

    refused = reopen_task(session, sam, task.id, now=now)

    assert refused.status is OpStatus.FORBIDDEN and task.status is TaskStatus.COMPLETED
    for junk in (None, "x", "-1", 2**40):
        assert reopen_task(session, dana, junk, now=now).status is OpStatus.INVALID
    assert reopen_task(session, boss, task.id, now=now).changed


def test_the_completed_list_reaches_back_a_week_newest_first(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    crm.task(rep, status=TaskStatus.COMPLETED, completed_at=now - timedelta(days=8))
    first = crm.task(rep, status=TaskStatus.COMPLETED, completed_at=now - timedelta(days=2))
    last = crm.task(rep, status=TaskStatus.COMPLETED, completed_at=now - timedelta(hours=1))
    crm.task(rep)  # open

    page = recently_completed_tasks(session, rep, now=now)

    # The task completed 8 days ago is not listed.
    assert [t.id for t in page.tasks] == [last.id, first.id] and page.total == 2
