"""What users read about their changes in the connected CRM, marked for the catalogues.

The domain names things; ``handlers.render.crm_writes`` translates them and writes the
sentences. A reason the CRM gave is stored in the outbox as the connector wrote it (English:
the command line and the logs read it too); ``reason_phrase`` recognises the connector's
sentences so that a reader sees them in their own language, and quotes anything else as
written, like CRM text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from rules.translatable import N_
from storage.models import OutboxState

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


@dataclass(frozen=True)
class Words:
    """A template to translate, then fill with ``params`` (a value may be words too).

    The write-back's own form of ``rules.translatable.Phrase``: its reasons are matched
    against the connector's stored sentences (``reason_phrase``). Folding the two into one
    is a small follow-up.
    """

    template: str
    params: dict[str, str | Words] = field(default_factory=dict)


# The connector's reasons (connectors/hubspot), as the outbox stores them. ``{crm}`` is the
# CRM's name; the other placeholders are its details, shown as written.
REFUSED = N_("it was refused")
CHANGED_SINCE_SEEN = N_("changed in {crm} since you saw it")
_REASONS = (
    N_("the record was deleted in {crm}"),
    N_("the record never reached {crm}"),
    N_(
        "salesbot's {crm} app may not make this change (it needs {scopes}): "
        "ask your {crm} admin to add the scope"
    ),
    N_("salesbot's {crm} app may not make this change: ask your {crm} admin to add the scope"),
    N_("{crm} refused it as a conflict: {detail}"),
    N_(
        "{crm} has no {property} property yet: ask your {crm} admin to run "
        "`salesbot hubspot setup` (docs/hubspot.md, Connect a portal)"
    ),
    N_("{crm} refused the values: {detail}"),
    N_("{crm} has no call outcome '{label}'"),
    N_("{crm}'s daily API limit is used up ({detail})"),
    N_("{crm} did not take it after {attempts} tries: {reason}"),
    CHANGED_SINCE_SEEN,
    N_("kept {crm}'s values"),
)
# A placeholder that holds another reason, recognised in turn.
_NESTED = "reason"
# A CRM's name holds no sentence: "HubSpot", not "HubSpot did not take it after 8 tries: HubSpot".
_VALUE = {"crm": r"[^:()']+?"}


@cache
def _pattern(template: str) -> re.Pattern[str]:
    """``template`` as a regex; a name used twice ({crm}) must read the same both times."""
    regex, seen = [], set()
    for i, part in enumerate(re.split(r"\{([a-z_]+)\}", template)):
        if i % 2 == 0:
            regex.append(re.escape(part))
        elif part in seen:
            regex.append(f"(?P={part})")
        else:
            seen.add(part)
            regex.append(f"(?P<{part}>{_VALUE.get(part, '.+?')})")
    return re.compile("".join(regex))


def reason_phrase(text: str | None) -> Words:
    """The stored reason as a phrase to translate: one of the connector's sentences with its
    details, or (unknown wording) the text as written."""
    if not text:
        return Words(REFUSED)
    for template in _REASONS:
        found = _pattern(template).fullmatch(text)
        if found is None:
            continue
        params: dict[str, str | Words] = dict(found.groupdict())
        if _NESTED in params:
            params[_NESTED] = reason_phrase(str(params[_NESTED]))
        return Words(template, params)
    return Words("{detail}", {"detail": text})
