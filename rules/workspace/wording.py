"""What a user reads on the Overview: the names of its weekly numbers.

Keyed by ``WeeklyMetric`` value (a ``StrEnum``, so the members look their labels up too):
``rules.workspace.overview`` fills its counts' labels from here, so this module cannot import it.
"""

from __future__ import annotations

METRIC_LABELS: dict[str, str] = {
    "meetings": "Meetings this week",
    "meetings_booked": "Meetings booked this week",
    "calls_logged": "Calls logged this week",
    "tasks_completed": "Tasks completed this week",
    "emails_sent": "Emails sent this week",
}
