"""What a user reads after "Add note" and "Log a call" (``rules.activity_log.ops``)."""

from __future__ import annotations

from rules.translatable import N_, N_plural
from rules.wording import CantChange

NO_RECORD = N_("That button didn't say which record. Refresh and try again.")
CANT_CHANGE = {
    "contact": CantChange(
        yours=N_("You can't add to your contact: your CRM user is inactive."),
        theirs=N_("You can't add to {name}'s contact."),
        unassigned=N_("You can't add to this contact."),
    ),
    "company": CantChange(
        yours=N_("You can't add to your company: your CRM user is inactive."),
        theirs=N_("You can't add to {name}'s company."),
        unassigned=N_("You can't add to this company."),
    ),
}
NEEDS_NOTE = N_("Write the note first.")
NOTE_TOO_LONG = N_plural(
    "Keep the note under {count} character.", "Keep the note under {count} characters."
)

# The subject a call logged from Slack gets (HubSpot shows it as the call's title): CRM
# data, written once in the workspace's language of record, English.
CALL_TITLE = "Call about {deal}"

NOTE_ADDED = N_("Done: note added to '{record}'.")
CALL_LOGGED = N_("Done: call logged on '{deal}' ({outcome}).")
