"""Every reason the connector stores for a refused write carries a code the domain words in
the reader's language (rules.crm_writes.wording): none reaches a German reader in English,
and no English sentence is recognised by its wording. A row from before the codes shows
its stored text."""

from __future__ import annotations

import pytest

from connectors.hubspot.write_api import MARKER_PROPERTY, _refusal
from handlers.i18n import use_language
from handlers.i18n.phrases import spoken
from rules.crm_writes.wording import NO_SCOPES_NAMED, REASONS, REFUSED, reason_phrase
from storage.models import WriteReason

SCOPES = {"errors": [{"context": {"requiredGranularScopes": ["crm.objects.deals.write"]}}]}


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (404, {}, WriteReason.DELETED),
        (403, {}, WriteReason.MISSING_SCOPE),
        (403, SCOPES, WriteReason.MISSING_SCOPE),
        (409, {"message": "duplicate"}, WriteReason.CRM_CONFLICT),
        (
            400,
            {"message": f"Property {MARKER_PROPERTY} does not exist"},
            WriteReason.MISSING_PROPERTY,
        ),
        (400, {"message": "hs_timestamp is not a date"}, WriteReason.REFUSED_VALUES),
    ],
)
def test_hubspots_refusals_carry_a_code(
    status: int, body: dict[str, object], code: WriteReason
) -> None:
    refusal = _refusal(status, body)
    assert refusal.code is code
    phrase = reason_phrase(refusal.code, refusal.values, refusal.reason, crm="HubSpot")
    assert phrase.template in (REASONS[code], NO_SCOPES_NAMED)
    # In English it reads as the connector's own sentence (logs and status say the same).
    assert str(phrase) == refusal.reason


def test_the_scopes_hubspot_named_are_quoted_in_german() -> None:
    refusal = _refusal(403, SCOPES)
    with use_language("de"):
        text = spoken(reason_phrase(refusal.code, refusal.values, refusal.reason, crm="HubSpot"))
    assert "crm.objects.deals.write" in text and "may not" not in text


def test_a_reason_that_nests_another_is_worded_whole() -> None:
    values = {
        "attempts": 8,
        "cause": {"code": "budget_spent", "values": {"detail": "0 left"}},
    }
    phrase = reason_phrase("gave_up", values, "whatever was stored", crm="HubSpot")
    assert str(phrase) == (
        "HubSpot did not take it after 8 tries: HubSpot's daily API limit is used up (0 left)"
    )
    with use_language("de"):
        german = spoken(phrase)
    assert "0 left" in german and "tries" not in german


def test_a_row_from_before_the_codes_reads_as_stored() -> None:
    stored = "the record was deleted in HubSpot"
    assert str(reason_phrase(None, None, stored, crm="HubSpot")) == stored
    assert reason_phrase(None, None, None, crm="HubSpot").template == REFUSED
    # A code this version does not know: its text, as stored.
    assert str(reason_phrase("from_the_future", {}, "socket closed", crm="HubSpot")) == (
        "socket closed"
    )
