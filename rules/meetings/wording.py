"""What a user reads about meetings and calls: outcome names, "Busy", and the sentences
logging an outcome answers with (``rules.meetings.ops``)."""

from __future__ import annotations

from rules.translatable import N_, N_plural
from rules.wording import CantChange
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

# Naming the activity: its quoted subject (``rules.wording.QUOTED``), or by its kind.
THIS_ONE = {"meeting": N_("This meeting"), "call": N_("This call")}
THE_ONE = {"meeting": N_("the meeting"), "call": N_("the call")}

NO_ID = {
    "meeting": N_("That button didn't say which meeting. Refresh and try again."),
    "call": N_("That button didn't say which call. Refresh and try again."),
}
CANT_CHANGE = {
    "meeting": CantChange(
        yours=N_("You can't change your meeting: your CRM user is inactive."),
        theirs=N_("You can't change {name}'s meeting."),
        unassigned=N_("You can't change this meeting."),
    ),
    "call": CantChange(
        yours=N_("You can't change your call: your CRM user is inactive."),
        theirs=N_("You can't change {name}'s call."),
        unassigned=N_("You can't change this call."),
    ),
}
PICK_MEETING_OUTCOME = N_("Pick an outcome from the list.")
PICK_CALL_OUTCOME = N_("Pick a call outcome.")
PICK_CALL_STATUS = N_("Pick a call status from the list.")
MEETING_NOT_STARTED = N_("This meeting hasn't started yet: log its outcome afterwards.")
CALL_NOT_HAPPENED = N_("This call hasn't happened yet.")
NOTES_TOO_LONG = N_plural(
    "Keep the call notes under {count} character.",
    "Keep the call notes under {count} characters.",
)

# ``{label}``: the outcome ("No show", translated) or the call's disposition (CRM data).
ALREADY_LOGGED = N_("{activity} is already logged as {label}.")
ALREADY_LOGGED_BY = N_("{activity} was already logged as {label} {by} {when}.")
LOGGED = N_("Done: outcome {label} logged for {activity}.")
