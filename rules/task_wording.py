"""What a user reads about tasks: bucket names and every sentence a task write answers with.

Kept apart from the logic so that rewording (or translating) a message never touches a rule.
Placeholders are named (``{task}``, ``{when}``...) and filled by ``rules.task_ops``.
"""

from __future__ import annotations

from rules.tasks import TaskBucket

BUCKET_LABELS: dict[TaskBucket, str] = {
    TaskBucket.OVERDUE: "Overdue",
    TaskBucket.TODAY: "Due today",
    TaskBucket.TOMORROW: "Due tomorrow",
}
