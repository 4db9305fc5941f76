"""Deal Insights' own sentences (CRM-derived risks) in the reader's language."""

from __future__ import annotations

from datetime import date

from handlers.i18n import use_language
from handlers.render.insights import risk_text
from insights.risks import Risk, RiskKind

STALLED = Risk(
    RiskKind.STALLED,
    "Stalled: in stage “Proposal” for 1 day.",
    template="Stalled: in stage “{stage}” for {days}.",
    values=(("stage", "Proposal"), ("days", 1)),
)
PASSED = Risk(
    RiskKind.CLOSE_DATE_PASSED,
    "Close date 2026-11-27 passed 3 days ago and the deal is still open.",
    template="Close date {date} passed {days} ago and the deal is still open.",
    values=(("date", date(2026, 11, 27)), ("days", 3)),
)


def test_risks_read_in_german_with_plurals_and_german_dates() -> None:
    with use_language("de"):
        assert risk_text(STALLED) == "Festgefahren: 1 Tag in der Phase „Proposal“."
        assert risk_text(PASSED) == (
            "Das Abschlussdatum 27.11.2026 ist 3 Tage überschritten, und der Deal ist noch offen."
        )


def test_risks_read_in_english_with_the_stage_as_written() -> None:
    with use_language("en"):
        assert risk_text(STALLED) == "Stalled: in stage “Proposal” for 1 day."
        assert risk_text(PASSED) == (
            "Close date 27 Nov 2026 passed 3 days ago and the deal is still open."
        )
