"""Every reason the connector stores for a refused write is one the domain can word in the
reader's language (rules.crm_writes.wording): none reaches a German reader in English."""

from __future__ import annotations

import pytest

from connectors.hubspot.write_api import MARKER_PROPERTY, _reason
from rules.crm_writes.wording import REFUSED, reason_phrase

SCOPES = {"errors": [{"context": {"requiredGranularScopes": ["crm.objects.deals.write"]}}]}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, {}),
        (403, {}),
        (403, SCOPES),
        (409, {"message": "duplicate"}),
        (400, {"message": f"Property {MARKER_PROPERTY} does not exist"}),
        (400, {"message": "hs_timestamp is not a date"}),
    ],
)
def test_hubspots_refusals_are_recognised(status: int, body: dict[str, object]) -> None:
    _category, reason = _reason(status, body)
    phrase = reason_phrase(reason)
    assert phrase.template != "{detail}", reason  # not quoted as unknown wording
    assert phrase.params.get("crm") == "HubSpot"


@pytest.mark.parametrize(
    "reason",
    [
        "the record never reached HubSpot",
        "HubSpot has no call outcome 'Left voicemail'",
        "changed in HubSpot since you saw it",
        "HubSpot did not take it after 8 tries: HubSpot's daily API limit is used up (0 left)",
    ],
)
def test_the_write_backs_own_reasons_are_recognised(reason: str) -> None:
    phrase = reason_phrase(reason)
    assert phrase.template != "{detail}", reason
    nested = phrase.params.get("reason")
    assert nested is None or getattr(nested, "template", "{detail}") != "{detail}"


def test_unknown_wording_is_quoted_as_written() -> None:
    assert reason_phrase("socket closed").params == {"detail": "socket closed"}
    assert reason_phrase(None).template == REFUSED
