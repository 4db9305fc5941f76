"""CRM and user text full of Slack control sequences: none survives into anything sent.

A hostile corpus goes into every kind of text the app shows (names, titles, notes, a team
name, a meeting link, what the user types); every message, ephemeral reply, notification,
Home tab and digest the app then sends is searched for a control sequence from the data.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.digests.compose import DigestComposer
from handlers.render.digest import manager_digest_text, rep_digest_text
from rules.digests.content import manager_digest, rep_digest
from rules.digests.schedule import DueDigest
from storage.models import DealVisibility, DigestKind, Role
from tests.builders import CRM
from tests.support.app import RunningApp

# What data must never do in Slack: ping, name a user or channel, or make a link.
CONTROL = [
    "<!channel>",
    "<!everyone>",
    "<!here>",
    "<@UEVIL1>",
    "<#CEVIL1>",
    "<http://evil",
    "|Click here",  # a "|" in a meeting link must not pick the link's label
]
HOSTILE = "Acme <!channel> <!everyone> <!here> <@UEVIL1> <#CEVIL1> <http://evil.example|ok>"
HOSTILE_LINK = "https://meet.example/x|Click here> <!here"


def _strings(value: Any) -> list[str]:
    """Every string Slack could read as markup (JSON-encoded parameters decoded)."""
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return [value]
        return [value, *_strings(decoded)] if not isinstance(decoded, str) else [value]
    if isinstance(value, dict):
        if value.get("type") == "plain_text":
            return []  # shown as written: Slack reads no markup in plain text
        # A button's "url" is an address, never read as markup.
        return [s for key, item in value.items() if key != "url" for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _leaks(payloads: list[dict[str, Any]]) -> list[str]:
    """Each text sent that carries a control sequence, with where it went."""
    return sorted(
        {
            f"{payload.get('method', 'digest')}: {text[:100]!r}"
            for payload in payloads
            for text in _strings(payload)
            if any(seq in text for seq in CONTROL)
        }
    )


def _hostile_org(crm: CRM, now: datetime) -> dict[str, Any]:
    team = crm.team(name=HOSTILE, digest_channel_id="C0TEAM")
    rep = crm.user(name=HOSTILE, slack_user_id="UREP", team_id=team.id)
    manager = crm.user(
        name=f"Boss {HOSTILE}",
        slack_user_id="UBOSS",
        team_id=team.id,
        role=Role.MANAGER,
        deal_visibility=DealVisibility.TEAM,
    )
    company = crm.company(name=HOSTILE)
    buyer = crm.contact(rep, first_name=HOSTILE, last_name=HOSTILE, company_id=company.id)
    deal = crm.deal(rep, name=f"Deal {HOSTILE}", contacts=[buyer], next_step=HOSTILE)
    crm.task(rep, subject=HOSTILE, body=HOSTILE, due_at=now + timedelta(hours=2), deals=[deal])
    crm.task(rep, subject=f"Late {HOSTILE}", due_at=now - timedelta(days=1), contacts=[buyer])
    crm.meeting(
        rep,
        subject=HOSTILE,
        location=HOSTILE,
        meeting_link=HOSTILE_LINK,
        starts_at=now + timedelta(hours=1),
        contacts=[buyer],
        deals=[deal],
    )
    crm.meeting(rep, subject=f"Done {HOSTILE}", starts_at=now - timedelta(hours=3), deals=[deal])
    crm.note(rep, HOSTILE, deals=[deal], contacts=[buyer])
    crm.email(rep, subject=HOSTILE, body=HOSTILE, contacts=[buyer], deals=[deal])
    return {"team": team, "rep": rep, "manager": manager, "deal": deal}


def test_nothing_the_app_sends_carries_a_control_sequence_from_data(
    running_app: RunningApp, session: Session, crm: CRM, now: datetime
) -> None:
    org = _hostile_org(crm, now)
    session.commit()

    # Home tab and every workspace view, through the slash command.
    running_app.open_home("UREP")
    for view in ("", "tasks", "deals", "leads", "schedule", "feed", "help", "settings"):
        running_app.slash(view, user_id="UREP")
    running_app.slash("tasks", user_id="UBOSS")
    # Echoes of what the user typed, and Deal Insights.
    running_app.slash(f"nonsense {HOSTILE}", user_id="UREP")
    running_app.slash(f"deal {HOSTILE}", user_id="UREP")
    running_app.slash("deal Acme", user_id="UREP")
    running_app.slash(f"as {HOSTILE}", user_id="UBOSS")
    running_app.event(
        {"type": "message", "channel_type": "im", "user": "UREP", "text": HOSTILE, "ts": "1.2"},
        event_id="EvDM",
    )
    running_app.settle()

    sent = [{"method": call.method, **call.params} for call in running_app.slack.calls]
    assert len(sent) > 10
    assert any("Acme" in text for text in _strings(sent))  # the data was shown, escaped

    # Digests: the rep's, and the manager's (whose notification names the team).
    compose = DigestComposer()
    for kind, recipient in ((DigestKind.REP, org["rep"].id), (DigestKind.MANAGER, org["team"].id)):
        due = DueDigest(
            kind=kind, recipient_id=recipient, local_date=now.date(), due_at=now, zone="UTC"
        )
        message = compose(session, due, now)
        sent.append(
            {"text": getattr(message, "text", ""), "blocks": getattr(message, "blocks", [])}
        )
        assert getattr(message, "blocks", None), message
    rep = rep_digest(session, user_id=org["rep"].id, now=now)
    team = manager_digest(session, team_id=org["team"].id, now=now)
    assert team is not None
    sent.append({"text": [rep_digest_text(rep), manager_digest_text(team)]})

    leaks = _leaks(sent)
    assert leaks == [], "\n".join(leaks)
