"""What a user reads about meetings and calls: outcome names, "Busy", and the sentences
logging an outcome answers with (``rules.meetings.ops``)."""

from __future__ import annotations

from rules.translatable import N_
from storage.models import MeetingOutcome

MEETING_OUTCOME_LABELS: dict[MeetingOutcome, str] = {
    MeetingOutcome.SCHEDULED: N_("Scheduled"),
    MeetingOutcome.COMPLETED: N_("Completed"),
    MeetingOutcome.RESCHEDULED: N_("Rescheduled"),
    MeetingOutcome.NO_SHOW: N_("No show"),
    MeetingOutcome.CANCELED: N_("Canceled"),
}
# What someone else sees instead of a meeting's title.
BUSY_TITLE = N_("Busy")

# Naming the activity: its quoted subject, or "this meeting" / "the call".
QUOTED = "'{subject}'"
THIS_ONE = "This {kind}"
THE_ONE = "the {kind}"

NO_ID = "That button didn't say which {kind}. Refresh and try again."
CANT_CHANGE = "You can't change {whose} {kind}."
PICK_MEETING_OUTCOME = "Pick an outcome from the list."
PICK_CALL_OUTCOME = "Pick a call outcome."
PICK_CALL_STATUS = "Pick a call status from the list."
MEETING_NOT_STARTED = "This meeting hasn't started yet: log its outcome afterwards."
CALL_NOT_HAPPENED = "This call hasn't happened yet."
NOTES_TOO_LONG = "Keep the call notes under {limit} characters."

LOGGED_AS = "logged as {label}"
OUTCOME_IS = "outcome {label}"
ALREADY_SO = "{activity} is already {what}."
ALREADY_BY = "{activity} was already {what} by {by} {when}."
LOGGED = "Done: {what} logged for {activity}."
