"""What users read about their changes in the connected CRM."""

from __future__ import annotations

from rules.translatable import N_
from storage.models import OutboxState

# How people call the fields a row can name.
FIELD_NAMES = {
    "status": "status",
    "due_at": "due date",
    "subject": "subject",
    "body": "notes",
    "priority": "priority",
    "owner_id": "owner",
    "outcome": "outcome",
    "call_status": "call status",
    "stage_id": "stage",
    "close_date": "close date",
    "next_step": "next step",
    "amount": "amount",
    "name": "name",
}

# The answers to apply mine / keep theirs / retry (``rules.crm_writes.ops``). ``{crm}`` is
# the CRM's name ("HubSpot"); ``{record}`` the record's name or subject.
NO_CHANGE_ID = N_("That button didn't say which change. Refresh and try again.")
NOT_YOUR_CHANGE = N_("You can't decide about someone else's change.")
SENDING_AGAIN = N_("Sending your change to {crm} again.")
KEPT_THEIRS = N_("OK: '{record}' keeps the values from {crm}.")
KEPT_THEIRS_UNNAMED = N_("OK: the values from {crm} stay.")
TRYING_AGAIN = N_("Trying '{record}' again in {crm}.")
TRYING_AGAIN_UNNAMED = N_("Trying the change again in {crm}.")
# Where a change already stands, by its outbox state.
SETTLED = {
    OutboxState.PENDING: N_("This change is already on its way to {crm}."),
    OutboxState.SENT: N_("This change is already saved in {crm}."),
    OutboxState.DISCARDED: N_("This change was already dropped: the values from {crm} stay."),
    OutboxState.FAILED: N_("This change was not saved in {crm}: {reason}."),
    OutboxState.CONFLICT: N_("This change is waiting for your decision."),
}
