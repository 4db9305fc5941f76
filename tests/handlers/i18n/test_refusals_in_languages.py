"""Refusals and errors that listeners write, through signed requests: in the reader's
language, and in the pseudo-locale with no English left."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from handlers.i18n import Language, use_translations
from handlers.render.kit import section
from handlers.slack import ids, listeners
from storage.models import DealVisibility
from tests.builders import CRM
from tests.handlers.payloads import block_action, send
from tests.support.app import RunningApp, start_app
from tests.support.pseudo import pseudo_language
from tests.support.slack_api import SlackStandIn


def _team(crm: CRM, session: Session, *, locale: str) -> int:
    """Ana (who reads ``locale``) may see but not change her teammate Ben's task."""
    team = crm.team()
    crm.user(
        name="Ana",
        slack_user_id="UANA",
        team_id=team.id,
        deal_visibility=DealVisibility.TEAM,
        slack_locale=locale,
    )
    ben = crm.user(name="Ben", slack_user_id="UBEN", team_id=team.id)
    task = crm.task(ben, subject="Ben's call")
    session.commit()
    return task.id


def _click_complete(running_app: RunningApp, task_id: int) -> str:
    running_app.slack.clear()
    send(
        running_app,
        block_action(
            user_id="UANA",
            action_id=ids.TASK_COMPLETE,
            value=str(task_id),
            block_id="row",
            blocks=[section("*Ben's call*", block_id="row")],
            response_url=running_app.slack.response_url("msg"),
        ),
    )
    [reply] = running_app.slack.wait_for("response_url")
    return str(reply.params["text"])


def _slash(running_app: RunningApp, text: str) -> str:
    running_app.slack.clear()
    running_app.slash(text, user_id="UANA")
    [reply] = running_app.slack.wait_for("response_url")
    return str(reply.params["text"])


def test_a_refused_click_is_told_in_german(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    task_id = _team(crm, session, locale="de-DE")

    assert _click_complete(running_app, task_id) == (
        ":no_entry: Du kannst die Aufgabe von Ben nicht ändern."
    )


def test_command_refusals_are_told_in_german(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    _team(crm, session, locale="de-AT")

    assert _slash(running_app, "deal").startswith("Welcher Deal? Versuch `/sales deal acme`")
    assert _slash(running_app, "as <@UNOBODY>") == "<@UNOBODY> hat kein verknüpftes CRM-Konto."
    assert _slash(running_app, "as nobody").startswith("Sag, wessen Arbeitsbereich:")
    assert _slash(running_app, "frobnicate").startswith(
        "„frobnicate“ kenne ich nicht. Das kann ich für dich tun:"
    )
    assert _slash(running_app, "tasks bo!gus").startswith(
        "Den Filter „bo!gus“ für /sales tasks kenne ich nicht."
    )
    assert _slash(running_app, "tasks bogus").startswith("Das kann ich nicht anzeigen.")


def test_a_failure_after_the_ack_is_apologised_for_in_german(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    _team(crm, session, locale="de-DE")
    running_app.slack.fail("views.publish", "internal_error")

    running_app.block_action(user_id="UANA", action_id=f"{ids.HOME_NAV}:tasks", value="tasks:1::")

    (apology,) = running_app.slack.calls_to("chat.postMessage")
    assert apology.params["text"].startswith("Leider ist bei mir etwas schiefgegangen")


def test_an_unlinked_user_reads_the_workspace_default_language(
    sqlite_engine: Engine, slack: SlackStandIn, now: datetime
) -> None:
    with start_app(sqlite_engine, slack, clock=lambda: now, default_language="de") as app:
        app.open_home("USTRANGER")
        home = str(app.published_home("USTRANGER"))
    assert "Dein Arbeitsbereich" in home
    assert "Ich habe dein CRM-Konto nicht gefunden" in home
    assert "salesbot users map --slack USTRANGER" in home


# The pseudo-locale --------------------------------------------------------------------------

# Not wording: code spans (commands), mentions, names and the user's own words.
_NOT_WORDING = re.compile(r"`[^`]*`|<@\w+>|:\w+:|Ben's call|Ben|frobnicate|bo!gus|\btasks\b|\d+")


@pytest.fixture
def pseudo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request is answered in the pseudo-locale, whoever asks."""

    @contextmanager
    def speak_pseudo(*_args: Any, **_kwargs: Any) -> Iterator[Language]:
        with use_translations(pseudo_language()) as language:
            yield language

    monkeypatch.setattr(listeners, "use_language", speak_pseudo)


@pytest.mark.usefixtures("pseudo")
def test_the_pseudo_locale_leaves_no_english_in_refusals(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    task_id = _team(crm, session, locale="en-US")
    said = [
        _click_complete(running_app, task_id),
        _slash(running_app, "deal"),
        _slash(running_app, "as <@UNOBODY>"),
        _slash(running_app, "frobnicate").split("\n")[0],  # the help that follows is tested
        _slash(running_app, "tasks bo!gus").split("\n")[0],
        _slash(running_app, "tasks bogus").split("\n")[0],
    ]
    running_app.slack.fail("views.publish", "internal_error")
    running_app.block_action(user_id="UANA", action_id=f"{ids.HOME_NAV}:tasks", value="tasks:1::")
    said.append(str(running_app.slack.calls_to("chat.postMessage")[0].params["text"]))

    english = [(text, re.findall(r"[A-Za-z]{2,}", _NOT_WORDING.sub("", text))) for text in said]
    assert [(text, words) for text, words in english if words] == []
