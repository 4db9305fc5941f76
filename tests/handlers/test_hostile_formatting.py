"""CRM text full of mrkdwn's formatting characters and ampersands (probe finding F20b/c).

A deal called ``Q4 *big* _push_ ~maybe~ `now` & Co`` must show as written: its asterisks
must not end the bold a renderer put around it, and every ``&`` must reach Slack as
``&amp;`` (Slack's rule for any text it reads as mrkdwn, a message's fallback ``text``
included). Checked in what the app sends: the Home tab, a task's message after a click, and
the rep's and manager's digests.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.digests.compose import DigestComposer
from handlers.render.kit import escape, section
from handlers.render.task_modals import task_controls
from handlers.slack import ids
from rules.digests.schedule import DueDigest
from storage.models import DigestKind, Role
from tests.builders import CRM
from tests.handlers.payloads import block_action, send
from tests.handlers.test_hostile_text import _strings
from tests.support.app import RunningApp

DEAL = "Q4 *big* _push_ ~maybe~ `now` & Co"
TASK = "Call *Ana* _today_ ~or~ `never` & sign"
COMPANY = "A&B *Corp*"
TEAM = "Sales & Ops *EMEA*"
# What must never reach Slack as written: formatting pairs from the data, a bare "&".
RAW = ["*big*", "_push_", "~maybe~", "`now`", "*Ana*", "_today_", "~or~", "`never`", "*Corp*"]
BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def _problems(where: str, texts: list[str]) -> list[str]:
    found = []
    for text in texts:
        found += [f"{where}: {raw!r} in {text[:120]!r}" for raw in RAW if raw in text]
        if BARE_AMPERSAND.search(text):
            found.append(f"{where}: a bare & in {text[:120]!r}")
    return found


def _shown(texts: list[str]) -> str:
    return "\n".join(texts)


def test_formatting_characters_and_ampersands_in_crm_text_show_as_written(
    running_app: RunningApp, session: Session, crm: CRM, now: datetime
) -> None:
    team = crm.team(name=TEAM, digest_channel_id="C0TEAM")
    rep = crm.user(name="Ana Rep", slack_user_id="UREP", team_id=team.id)
    crm.user(name="Bo Boss", slack_user_id="UBOSS", team_id=team.id, role=Role.MANAGER)
    company = crm.company(name=COMPANY)
    buyer = crm.contact(rep, first_name="Ada", last_name="Buyer", company_id=company.id)
    deal = crm.deal(rep, name=DEAL, contacts=[buyer], company_id=company.id)
    task = crm.task(rep, subject=TASK, due_at=now + timedelta(hours=2), deals=[deal])
    crm.task(rep, subject=f"Late {TASK}", due_at=now - timedelta(days=1), deals=[deal])
    session.commit()

    # The Home tab, and the deals view (company and deal names in bold).
    running_app.open_home("UREP")
    home = _strings(running_app.published_home("UREP")["blocks"])
    running_app.slash("deals", user_id="UREP")
    # A task's message: completed from it, the message is updated in place.
    row: list[dict[str, Any]] = [
        section(f"*{escape(TASK)}*", block_id=f"row:{task.id}"),
        task_controls(task.id, TASK),
    ]
    send(
        running_app,
        block_action(
            user_id="UREP",
            action_id=ids.TASK_COMPLETE,
            value=str(task.id),
            block_id=row[-1]["block_id"],
            blocks=row,
            response_url=running_app.slack.response_url("msg"),
        ),
    )
    [update] = running_app.slack.wait_for("chat.update")
    message = [update.params["text"], *_strings(update.json_param("blocks"))]
    deals_view = [t for r in running_app.responses() for t in _strings(r)]
    # The digests: the rep's, and the manager's (whose notification names the team).
    compose = DigestComposer()
    digests: list[str] = []
    for kind, recipient in ((DigestKind.REP, rep.id), (DigestKind.MANAGER, team.id)):
        due = DueDigest(
            kind=kind, recipient_id=recipient, local_date=now.date(), due_at=now, zone="UTC"
        )
        sent = compose(session, due, now)
        digests += [getattr(sent, "text", ""), *_strings(getattr(sent, "blocks", []))]

    problems = (
        _problems("home", home)
        + _problems("deals view", deals_view)
        + _problems("task message", message)
        + _problems("digest", digests)
    )
    assert problems == [], "\n".join(problems)
    # Shown as written (look-alikes for the markers, &amp; for &), inside the app's own bold.
    assert "*Call ∗Ana∗ ˍtodayˍ ∼or∼ ˋneverˋ &amp; sign*" in _shown(home)
    assert "Q4 ∗big∗ ˍpushˍ ∼maybe∼ ˋnowˋ &amp; Co" in _shown(deals_view)
    assert "A&amp;B ∗Corp∗" in _shown(deals_view)
    assert "Call ∗Ana∗ ˍtodayˍ ∼or∼ ˋneverˋ &amp; sign" in update.params["text"]
    assert "Sales &amp; Ops ∗EMEA∗" in _shown(digests)
