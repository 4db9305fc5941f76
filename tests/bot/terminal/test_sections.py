"""Terminal rendering: pure renderers, and sections printed in order."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console
from sqlalchemy.orm import Session

from bot.terminal.sections import TerminalContext, render_sections, render_task_group
from rules.tasks.queries import TaskBucket, TaskGroup, TaskItem
from storage.models import TaskPriority, TaskStatus
from tests.builders import CRM


def _task(subject: str, priority: TaskPriority) -> TaskItem:
    due = datetime(2026, 3, 11, 17, 0, tzinfo=UTC)
    return TaskItem(
        id=1,
        subject=subject,
        due_at=due,
        due_local=due,
        status=TaskStatus.NOT_STARTED,
        priority=priority,
        task_type=None,
        owner_id=1,
        is_sequence_task=False,
        is_late=False,
    )


def _text(renderable: object, width: int = 90) -> str:
    console = Console(width=width, record=True)
    console.print(renderable)
    return console.export_text()


def test_a_bucket_counts_and_marks_high_priority() -> None:
    group = TaskGroup(
        TaskBucket.TODAY,
        (_task("Call the CFO", TaskPriority.HIGH), _task("Send recap", TaskPriority.LOW)),
    )
    lines = _text(render_task_group("Due today", group)).splitlines()
    assert lines[0].startswith("Due today (2, 1 high priority)")
    cfo = next(line for line in lines if "Call the CFO" in line)
    recap = next(line for line in lines if "Send recap" in line)
    assert cfo.lstrip().startswith("!") and "!" not in recap
    empty = _text(render_task_group("Overdue", TaskGroup(TaskBucket.OVERDUE, ())))
    assert "Overdue (0)" in empty and "nothing here" in empty


def test_sections_print_in_order_and_none_prints_nothing(
    session: Session, crm: CRM, now: datetime
) -> None:
    context = TerminalContext(session=session, user=crm.user(name="Dana"), now=now)
    console = Console(width=80, record=True)
    render_sections(
        console,
        context,
        [
            lambda c: f"first for {c.user.name}",
            lambda c: None,
            lambda c: f"{c.overview.tasks.today.count} due today",
        ],
    )
    assert console.export_text().splitlines() == ["first for Dana", "0 due today"]
