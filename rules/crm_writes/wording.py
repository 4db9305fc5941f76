"""What users read about their changes in the connected CRM."""

from __future__ import annotations

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
