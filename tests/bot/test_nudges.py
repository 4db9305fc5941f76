"""A nudge reaches the rep's DM once, with the digest's buttons and "Fewer like this"."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.digests.deliver import Pacer
from bot.nudges import send_nudges
from handlers.slack import ids
from rules.digests.nudges import NudgeKind, NudgePrefs, save_nudge_prefs
from rules.guided_actions import evaluate
from storage.db import session_factory
from tests.builders import CRM
from tests.support.slack_api import running_standin


def test_a_buyer_reply_reaches_the_reps_dm_once(sqlite_engine: Engine, now: datetime) -> None:
    with Session(sqlite_engine) as session:
        crm = CRM(session, now)
        rep = crm.user(slack_user_id="UREP", timezone="Europe/Berlin")
        prefs = NudgePrefs(
            kinds=(NudgeKind.BUYER_REPLIED.value,), quiet_start=time(22), quiet_end=time(7)
        )
        save_nudge_prefs(session, user_id=rep.id, prefs=prefs, now=now)
        contact = crm.contact(rep, first_name="Grace")
        crm.email(rep, sent_at=now - timedelta(days=1), replied_at=now, contacts=[contact])
        evaluate(session, now=now)
        session.commit()
    with running_standin() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.api_url)

        def send() -> int:
            return send_nudges(
                sessions=session_factory(sqlite_engine),
                client=client,
                clock=lambda: now + timedelta(seconds=20),
                pacer=Pacer(100),
            )

        assert send() == 1
        assert send() == 0
        [call] = slack.calls_to("chat.postMessage")
    assert call.params["channel"] == "UREP"
    assert "Grace" in call.params["text"] and "replied to your email" in call.params["text"]
    buttons = [
        element
        for block in call.json_param("blocks")
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert {ids.ACTION_QUEUE_START, ids.ACTION_DONE} <= {b["action_id"] for b in buttons}
    fewer = [b for b in buttons if b.get("text", {}).get("text") == "Fewer like this"]
    assert fewer and fewer[0]["action_id"] == ids.ACTION_FEEDBACK
    assert fewer[0]["value"].endswith(":no")


def test_a_german_rep_gets_the_nudge_in_german(sqlite_engine: Engine, now: datetime) -> None:
    with Session(sqlite_engine) as session:
        crm = CRM(session, now)
        rep = crm.user(slack_user_id="UREP", timezone="Europe/Berlin", slack_locale="de-DE")
        prefs = NudgePrefs(
            kinds=(NudgeKind.BUYER_REPLIED.value,), quiet_start=time(22), quiet_end=time(7)
        )
        save_nudge_prefs(session, user_id=rep.id, prefs=prefs, now=now)
        contact = crm.contact(rep, first_name="Grace")
        crm.email(rep, sent_at=now - timedelta(days=1), replied_at=now, contacts=[contact])
        evaluate(session, now=now)
        session.commit()
    with running_standin() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.api_url)
        sent = send_nudges(
            sessions=session_factory(sqlite_engine),
            client=client,
            clock=lambda: now + timedelta(seconds=20),
            pacer=Pacer(100),
        )
        [call] = slack.calls_to("chat.postMessage")
    assert sent == 1
    assert "hat auf deine E-Mail geantwortet" in call.params["text"]
    blocks = str(call.json_param("blocks"))
    assert "Ein Käufer hat geantwortet" in blocks and "Weniger davon" in blocks
    assert "Fewer like this" not in blocks and "replied" not in blocks
