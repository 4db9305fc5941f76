"""What a user reads after "Add note" and "Log a call" (``rules.activity_log.ops``)."""

from __future__ import annotations

NO_RECORD = "That button didn't say which record. Refresh and try again."
CANT_CHANGE = "You can't add to {whose} {kind}."
NEEDS_NOTE = "Write the note first."
NOTE_TOO_LONG = "Keep the note under {limit} characters."

# The subject a call logged from Slack gets (HubSpot shows it as the call's title).
CALL_TITLE = "Call about {deal}"

NOTE_ADDED = "Done: note added to '{record}'."
CALL_LOGGED = "Done: call logged on '{deal}' ({outcome})."
