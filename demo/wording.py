"""Words the demo draws from: names, companies, deal kinds, notes, subjects."""

from __future__ import annotations

import re


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Avery Blake Casey Devon Emery Finley Gray Harper Indigo Jules Kai Logan Marlow Noor Oakley "
    "Parker Quinn Reese Sage Tatum Uma Val Wren Xan Yael Zion Amara Bruno Celia Dmitri Elena "
    "Farah Gustavo Hana Ivan Jonas Keiko Lina Mateo Nadia Omar Paola Rafael Sofia Tariq Yuki"
)
LAST_NAMES = _words(
    "Abbott Baker Castro Diaz Ellis Fischer Garcia Hoffmann Ito Jensen Kowalski Larsen Moreau "
    "Novak Okafor Petrov Quintero Rossi Schmidt Tanaka Ueda Vargas Weber Xu Yamamoto Zimmer "
    "Andersen Bianchi Costa Dubois Eriksen Fernandes Gallagher Haas Iyer Jovanovic Kato Lindqvist"
)
COMPANY_FIRST_WORDS = _words(
    "Acme Apex Atlas Beacon Blue Bright Cedar Cobalt Crest Delta Echo Ember Evergreen Falcon "
    "Fjord Granite Harbor Helix Horizon Iron Juniper Keystone Lumen Maple Meridian Nimbus North "
    "Onyx Orbit Pine Pioneer Quartz Redwood Riverside Sable Sierra Silver Summit Tidal Vertex"
)
COMPANY_SECOND_WORDS = _words(
    "Analytics Biotech Capital Cloud Dynamics Energy Foods Freight Health Industries Labs "
    "Logistics Media Motors Networks Partners Retail Robotics Software Systems Telecom Works"
)
DEAL_KINDS = (
    "Platform expansion",
    "Pilot",
    "Annual renewal",
    "Team seats",
    "Enterprise upgrade",
    "Analytics add-on",
    "New business",
    "Multi-year contract",
    "Regional rollout",
    "Support plan",
)
NEXT_STEPS = (
    "Send revised proposal",
    "Schedule security review",
    "Confirm budget owner",
    "Book demo for the wider team",
    "Get legal redlines back",
    "Agree on pilot success criteria",
    "Intro to procurement",
    "Follow up on pricing questions",
)
GOAL_NOTES = (
    "Buyer goal: cut onboarding time for new support agents by half before the summer peak.",
    "They want one dashboard for all regional sales teams; today they merge spreadsheets.",
    "Main goal is consolidating three legacy tools into one platform to save licence costs.",
    "Priority for them: faster month-end reporting, the CFO wants numbers by day 3.",
    "Buyer wants to expand to the Berlin and Tokyo offices next fiscal year.",
    "Goal: reduce churn in mid-market accounts; they asked for health scoring.",
)
CONCERN_NOTES = (
    "Concern: budget cuts announced company-wide; procurement froze new spend until review.",
    "They are evaluating a competitor (Initrode) in parallel; pricing comparison requested.",
    "Timeline may slip: their IT team is busy with a migration until next quarter.",
    "Champion is leaving the company next month; need a new sponsor.",
    "Security questionnaire raised questions about data residency in the EU.",
    "Not sure the decision maker is convinced; he asked twice about contract length.",
)
NEUTRAL_NOTES = (
    "Good call, they liked the reporting demo.",
    "Sent the case study from a similar customer.",
    "Contact prefers email over phone; mornings work best.",
    "Met at the trade show, interested in the API.",
)
EMAIL_SUBJECTS = (
    "Following up on our call",
    "Proposal and next steps",
    "Quick question about your rollout",
    "Pricing overview",
    "Case study you asked for",
    "Agenda for Thursday",
    "Checking in",
    "Security documentation",
)
CALL_OUTCOMES = ("Connected", "Left voicemail", "No answer", "Wrong number", "Left live message")
MEETING_TITLES = (
    "Discovery call",
    "Product demo",
    "Pricing review",
    "Security review",
    "Stakeholder alignment",
    "Quarterly business review",
    "Technical deep dive",
)
TASK_SUBJECTS = (
    "Send follow-up email",
    "Call to confirm next meeting",
    "Prepare proposal",
    "Update deal amount",
    "Connect on LinkedIn",
    "Share case study",
    "Check in after demo",
    "Send contract draft",
)
# The demo's German speaker writes their own records in German (salesbot never translates
# CRM text): the subjects above as they would write them.
GERMAN_SUBJECTS = {
    "Discovery call": "Erstgespräch",
    "Product demo": "Produktdemo",
    "Pricing review": "Preisbesprechung",
    "Security review": "Sicherheitsprüfung",
    "Stakeholder alignment": "Abstimmung mit den Entscheidern",
    "Quarterly business review": "Quartalsgespräch",
    "Technical deep dive": "Technischer Deep Dive",
    "Send follow-up email": "Nachfass-E-Mail senden",
    "Call to confirm next meeting": "Anrufen, um das nächste Meeting zu bestätigen",
    "Prepare proposal": "Angebot vorbereiten",
    "Update deal amount": "Deal-Betrag aktualisieren",
    "Connect on LinkedIn": "Auf LinkedIn vernetzen",
    "Share case study": "Fallstudie teilen",
    "Check in after demo": "Nach der Demo nachhaken",
    "Send contract draft": "Vertragsentwurf senden",
}
_SEQUENCE_STEP = re.compile(r"Sequence step (\d+): (email|call) (.+)")
_GERMAN_STEP = {"email": "E-Mail an", "call": "Anruf bei"}


def in_german(subject: str) -> str:
    """``subject`` as the German speaker would have written it (unknown ones unchanged)."""
    step = _SEQUENCE_STEP.fullmatch(subject)
    if step is not None:
        number, kind, name = step.groups()
        return f"Sequenzschritt {number}: {_GERMAN_STEP[kind]} {name}"
    return GERMAN_SUBJECTS.get(subject, subject)
