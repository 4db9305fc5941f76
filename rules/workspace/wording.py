"""What a user reads on the Overview: the names of its weekly numbers.

Keyed by ``WeeklyMetric`` value (a ``StrEnum``, so the members look their labels up too):
``rules.workspace.overview`` fills its counts' labels from here, so this module cannot import it.
"""

from __future__ import annotations

from rules.translatable import N_

METRIC_LABELS: dict[str, str] = {
    "meetings": N_("Meetings this week"),
    "meetings_booked": N_("Meetings booked this week"),
    "calls_logged": N_("Calls logged this week"),
    "tasks_completed": N_("Tasks completed this week"),
    "emails_sent": N_("Emails sent this week"),
}
