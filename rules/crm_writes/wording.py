"""What users read about their changes in the connected CRM, marked for the catalogues.

The domain names things; ``handlers.render.crm_writes`` translates them and writes the
sentences. Why the CRM did not take a write is stored in the outbox as a code and the
values its sentence needs (``storage.models.WriteReason``); ``reason_phrase`` turns them
into a :class:`~rules.translatable.Phrase`, so each reader sees it in their own language,
with the CRM's own details (its message, the scopes) quoted as the CRM wrote them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules.translatable import N_, N_plural, Param, Phrase, Plural
from rules.wording import QUOTED
from storage.models import OutboxState, WriteReason

# How people call the fields a row can name, mid-sentence.
FIELD_NAMES = {
    "status": N_("the status"),
    "due_at": N_("the due date"),
    "subject": N_("the subject"),
    "body": N_("the notes"),
    "priority": N_("the priority"),
    "owner_id": N_("the owner"),
    "outcome": N_("the outcome"),
    "call_status": N_("the call status"),
    "stage_id": N_("the stage"),
    "close_date": N_("the close date"),
    "next_step": N_("the next step"),
    "amount": N_("the amount"),
    "name": N_("the name"),
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
NOT_YOUR_NOTICE = N_("Only the person whose change it was can dismiss this notice.")
NOTHING_TO_DISMISS = N_("This notice is already gone.")
DISMISSED = N_("OK: that notice is gone from your Home tab.")
# Where a change already stands, by its outbox state.
SETTLED = {
    OutboxState.PENDING: N_("This change is already on its way to {crm}."),
    OutboxState.SENT: N_("This change is already saved in {crm}."),
    OutboxState.DISCARDED: N_("This change was already dropped: the values from {crm} stay."),
    OutboxState.FAILED: N_("This change was not saved in {crm}: {reason}."),
    OutboxState.CONFLICT: N_("This change is waiting for your decision."),
}
UNKNOWN_FIELD = N_("a field")

# A record without a name, mid-sentence, by its kind (``OutboxWrite.record_kind``). "this"
# rather than "the": the sentences name it as a subject (German: "dieser Anruf"), where
# "the call" elsewhere is an object ("den Anruf").
RECORD_KINDS = {
    "task": N_("this task"),
    "meeting": N_("this meeting"),
    "call": N_("this call"),
    "email": N_("this email"),
    "note": N_("this note"),
    "deal": N_("this deal"),
    "contact": N_("this contact"),
    "company": N_("this company"),
    "lead": N_("this lead"),
}
UNKNOWN_RECORD = N_("this record")

# Who changed a field in the CRM, when the CRM does not name a person.
AN_AUTOMATION = N_("an automation")
SOMEONE = N_("someone")

# A connected CRM without a name of its own.
THE_CRM = "the CRM"
THE_CRM_MSGID = N_("the CRM")


def crm_words(crm: str) -> Param:
    """The CRM's name as a phrase's value: "HubSpot" stays a name, "the CRM" is words."""
    return Phrase(THE_CRM_MSGID) if crm == THE_CRM else crm


# Why the CRM did not take a write, by the connector's code (``OutboxWrite.reason_code``).
# ``{crm}`` is the CRM's name; the other placeholders are its details, shown as written.
REFUSED = N_("it was refused")
# A reason stored as text only (a row from before the codes): shown as written.
AS_WRITTEN = N_("{detail}")
CHANGED_SINCE_SEEN = N_("changed in {crm} since you saw it")
NO_SCOPES_NAMED = N_(
    "salesbot's {crm} app may not make this change: ask your {crm} admin to add the scope"
)
REASONS: dict[WriteReason, str | Plural] = {
    WriteReason.DELETED: N_("the record was deleted in {crm}"),
    WriteReason.NEVER_REACHED: N_("the record never reached {crm}"),
    WriteReason.MISSING_SCOPE: N_(
        "salesbot's {crm} app may not make this change (it needs {scopes}): "
        "ask your {crm} admin to add the scope"
    ),
    WriteReason.CRM_CONFLICT: N_("{crm} refused it as a conflict: {detail}"),
    WriteReason.MISSING_PROPERTY: N_(
        "{crm} has no {property} property yet: ask your {crm} admin to run "
        "`salesbot hubspot setup` (docs/hubspot.md, Connect a portal)"
    ),
    WriteReason.REFUSED_VALUES: N_("{crm} refused the values: {detail}"),
    WriteReason.NO_CALL_OUTCOME: N_("{crm} has no call outcome '{label}'"),
    WriteReason.BUDGET_SPENT: N_("{crm}'s daily API limit is used up ({detail})"),
    WriteReason.GAVE_UP: N_("{crm} did not take it after {attempts} tries: {reason}"),
    WriteReason.CHANGED_SINCE_SEEN: CHANGED_SINCE_SEEN,
    WriteReason.KEPT_THEIRS: N_("kept {crm}'s values"),
    WriteReason.LINKS_GONE: N_plural(
        "it is not linked to {names}: that record no longer exists in {crm}",
        "it is not linked to {names}: those records no longer exist in {crm}",
    ),
}


def reason_phrase(
    code: str | None, values: Mapping[str, Any] | None, text: str | None, *, crm: str
) -> Phrase:
    """A stored reason as words to translate: the sentence of its code, filled with its
    values; a row without a code (stored before codes) reads as its text, as written."""
    reason = _code(code)
    if reason is None:
        return Phrase(AS_WRITTEN, {"detail": text}) if text else Phrase(REFUSED)
    values = values or {}
    params: dict[str, Param] = {"crm": crm_words(crm)}
    for name, value in values.items():
        if isinstance(value, list):
            params[name] = ", ".join(str(v) for v in value)
        elif isinstance(value, int) and not isinstance(value, bool):
            params[name] = value
        elif name != "cause":
            params[name] = str(value)
    if reason is WriteReason.MISSING_SCOPE and not values.get("scopes"):
        return Phrase(NO_SCOPES_NAMED, params)
    if reason is WriteReason.GAVE_UP:
        cause = _mapping(values.get("cause"))
        cause_values = _mapping(cause.get("values"))
        detail, code_ = cause_values.get("detail"), cause.get("code")
        params["reason"] = reason_phrase(
            str(code_) if code_ else None, cause_values, str(detail) if detail else None, crm=crm
        )
    if reason is WriteReason.LINKS_GONE:
        names = values.get("names")
        named = [str(n) for n in names] if isinstance(names, list) else []
        params["count"] = len(named)
        params["names"] = tuple(Phrase(QUOTED, {"subject": n}) for n in named)
    return Phrase(REASONS[reason], params)


def _code(code: str | None) -> WriteReason | None:
    try:
        return WriteReason(code) if code else None
    except ValueError:  # a code from a newer version: its text is still there
        return None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
