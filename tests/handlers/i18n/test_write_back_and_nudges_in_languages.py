"""Write-back states, conflict and failure messages, nudges, the nudge settings and deal
suggestions in German and in the pseudo-locale: no English left, Slack's limits kept, and
golden copies of the conflict message and a nudge."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.settings import load_settings
from handlers.i18n import use_language, use_translations
from handlers.render.actions import muteable_types
from handlers.render.crm_writes import progress_text, write_notice_blocks, write_notice_text
from handlers.render.insights import deal_choice_blocks
from handlers.render.kit import Block, Surface, block_problems, mrkdwn, section
from handlers.render.navigation import View, ViewState
from handlers.render.nudges import nudge_text, render_nudge
from handlers.render.settings import settings_modal
from handlers.render.workspace import render_workspace
from handlers.slack.home_tab import _with_unsaved_changes
from handlers.slack.services import Services
from insights.finder import DealChoice, DealSearch
from rules.crm_writes.queries import (
    Clash,
    Notice,
    NoticeKind,
    Progress,
    WriteProgress,
    unsaved_notices,
)
from rules.crm_writes.wording import FIELD_NAMES, reason_phrase
from rules.digests.nudges import Nudge, NudgeKind, NudgeLine, NudgePrefs
from rules.guided_actions import RULES_BY_TYPE, ActionType
from rules.settings.preferences import Preferences
from rules.translatable import Phrase
from storage.db import session_factory
from storage.models import (
    OutboxOperation,
    OutboxState,
    OutboxWrite,
    OwnedObject,
    User,
    WriteReason,
)
from storage.outbox import enable_outbox
from tests.builders import CRM
from tests.handlers.i18n.golden import matches_golden, visible_text
from tests.support.pseudo import pseudo_language

# The reader's wall clock (Berlin); data made of words no English UI string uses.
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
QUALM = "Qualmwerk"
MIA = "Mia Qorvath"
CRM_NAME = "HubSpot"
# Every reason the HubSpot connector stores (a code and its values), every code once at least.
REASONS: list[tuple[WriteReason, dict[str, Any]]] = [
    (WriteReason.DELETED, {}),
    (WriteReason.NEVER_REACHED, {}),
    (WriteReason.MISSING_SCOPE, {"scopes": ["qualm.write"]}),
    (WriteReason.MISSING_SCOPE, {"scopes": []}),
    (WriteReason.CRM_CONFLICT, {"detail": QUALM}),
    (WriteReason.MISSING_PROPERTY, {"property": "salesbot_id"}),
    (WriteReason.REFUSED_VALUES, {"detail": QUALM}),
    (WriteReason.NO_CALL_OUTCOME, {"label": QUALM}),
    (WriteReason.BUDGET_SPENT, {"detail": "qualm"}),
    (
        WriteReason.GAVE_UP,
        {"attempts": 8, "cause": {"code": "budget_spent", "values": {"detail": "qualm"}}},
    ),
    (WriteReason.CHANGED_SINCE_SEEN, {}),
    (WriteReason.KEPT_THEIRS, {}),
    (WriteReason.LINKS_GONE, {"names": [QUALM]}),
    (WriteReason.LINKS_GONE, {"names": [QUALM, QUALM]}),
]
_GONE = (WriteReason.DELETED, WriteReason.NEVER_REACHED)


def _reason(code: WriteReason, values: dict[str, Any]) -> Phrase:
    return reason_phrase(code.value, values, None, crm=CRM_NAME)


def test_every_reason_code_is_tried() -> None:
    assert {code for code, _values in REASONS} == set(WriteReason)


ENGLISH_WORD = re.compile(r"\b[A-Za-z]{3,}\b")
# Data, Slack syntax and CLDR names (English in the pseudo-locale), not UI text.
NOT_UI = {
    QUALM,
    "Mia",
    "Qorvath",
    "HubSpot",
    "qualm",
    "write",
    "salesbot",
    "salesbot_id",
    "docs",
    "hubspot",
    "sales",
    "settings",
    "Mon",
    "Fri",
    "Nov",
    "English",
    "Deutsch",
    "Europe",
    "Berlin",
}


def _texts(value: Any) -> list[str]:
    """Every text a reader sees in a view or blocks: texts, labels, hints, options."""
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    if not isinstance(value, dict):
        return []
    found = []
    if value.get("type") in ("plain_text", "mrkdwn") and isinstance(value.get("text"), str):
        found.append(value["text"])
    for key, item in value.items():
        if key not in ("action_id", "block_id", "value", "callback_id", "private_metadata"):
            found += _texts(item)
    return found


def _english_left(*texts: str) -> set[str]:
    text = " ".join(texts)
    text = re.sub(r":[a-z_]+:", "", text)  # emoji codes
    text = re.sub(r"\b(Monday|Sunday|Saturday|Tuesday|Wednesday|Thursday|Friday)\b", "", text)
    return {w for w in ENGLISH_WORD.findall(text) if w not in NOT_UI}


def _conflict() -> Notice:
    berlin = timedelta(hours=1)
    local_now = (NOW + berlin).replace(tzinfo=None)
    return Notice(
        NoticeKind.CONFLICT,
        7,
        crm=CRM_NAME,
        record_kind="task",
        record=QUALM,
        clashes=(
            Clash(FIELD_NAMES["due_at"], who=MIA, at=local_now - timedelta(hours=2)),
            Clash(FIELD_NAMES["close_date"], who=None, by_automation=True),
            Clash(FIELD_NAMES["stage_id"], who=None, at=local_now - timedelta(days=1)),
            Clash(FIELD_NAMES["next_step"], who=MIA, at=local_now - timedelta(days=3)),
        ),
        now=local_now,
    )


def _notices() -> list[Notice]:
    failed = [
        Notice(
            NoticeKind.FAILED,
            8,
            crm=CRM_NAME,
            record_kind=kind,
            reason=_reason(code, values),
            can_retry=code not in _GONE,
        )
        for kind, (code, values) in zip(
            ["task", "deal", "call", "meeting"] * 4, REASONS, strict=False
        )
    ]
    saved = Notice(NoticeKind.SAVED, 9, crm=CRM_NAME, record_kind="note", record=QUALM)
    return [_conflict(), *failed, saved]


def _progress_lines() -> list[str]:
    """The lines as Slack gets them (through the kit's escaping)."""
    return [
        mrkdwn(progress_text(WriteProgress(Progress.SAVED, CRM_NAME)))["text"],
        mrkdwn(progress_text(WriteProgress(Progress.SAVING, CRM_NAME)))["text"],
        *[
            mrkdwn(
                progress_text(WriteProgress(Progress.NOT_SAVED, CRM_NAME, _reason(code, values)))
            )["text"]
            for code, values in REASONS
        ],
    ]


def _nudge() -> Nudge:
    lines = []
    for number, kind, action_type in [
        (1, NudgeKind.BUYER_REPLIED, ActionType.EMAIL_REPLIES),
        (2, NudgeKind.MEETING_SOON, ActionType.PREPARE_FOR_MEETING),
        (3, NudgeKind.DEAL_RISK, ActionType.FOLLOW_UP_WITH_BUYER),
    ]:
        rule = RULES_BY_TYPE[action_type]
        lines.append(
            NudgeLine(
                action_id=number,
                kind=kind,
                title=rule.title.format(label=QUALM, count=QUALM),
                call_to_action=rule.call_to_action,
                category="closing",
                title_template=rule.title,
                title_value=QUALM,
            )
        )
    return Nudge(user_id=1, slack_user_id="UMIA", bundle="b", lines=tuple(lines))


def _settings_view() -> dict[str, Any]:
    nudges = NudgePrefs(kinds=(NudgeKind.BUYER_REPLIED.value,), weekends=True)
    return settings_modal(
        Preferences(), action_types=muteable_types(), zone_hint="Europe/Berlin", nudges=nudges
    )


def _suggestions() -> list[list[Block]]:
    one = DealChoice(1, QUALM, 80.0)
    return [
        deal_choice_blocks(DealSearch(query=QUALM, deal=None, candidates=(one,))),
        deal_choice_blocks(DealSearch(query=QUALM, deal=None, candidates=(one, one))),
        deal_choice_blocks(DealSearch(query=QUALM, deal=None, candidates=())),
    ]


def _surfaces() -> dict[str, tuple[list[Block], Surface]]:
    """Every surface of this file, rendered in the active language."""
    found: dict[str, tuple[list[Block], Surface]] = {}
    for notice in _notices():
        found[f"notice {notice.kind} {notice.reason}"] = (write_notice_blocks(notice), "message")
    found["progress"] = ([section(line) for line in _progress_lines()], "message")
    found["nudge"] = (render_nudge(_nudge()), "message")
    found["settings"] = (_settings_view()["blocks"], "modal")
    for number, blocks in enumerate(_suggestions()):
        found[f"suggestions {number}"] = (blocks, "message")
    return found


@pytest.mark.parametrize("language", ["de", "pseudo"])
def test_no_english_is_left_and_every_view_fits_slack(language: str) -> None:
    context = use_language("de") if language == "de" else use_translations(pseudo_language())
    with context:
        surfaces = _surfaces()
        extra = [nudge_text(_nudge()), *(write_notice_text(n) for n in _notices())]
        title = _settings_view()["title"]["text"]
    for name, (blocks, surface) in surfaces.items():
        assert block_problems(blocks, surface=surface) == [], name
        if language == "pseudo":
            assert _english_left(*_texts(blocks)) == set(), name
    if language == "pseudo":
        assert _english_left(*extra, title) == set()


def test_a_forgotten_string_would_be_caught() -> None:
    """The guard itself: an English literal in a view is reported."""
    with use_translations(pseudo_language()):
        blocks = [*render_nudge(_nudge()), section("Saved in HubSpot")]
    assert _english_left(*_texts(blocks)) == {"Saved"}


# Words of the connector's English reasons that German never uses.
ENGLISH_ONLY = {"the", "your", "ask", "refused", "did", "not", "tries", "may", "needs"}


def test_every_reason_the_connector_stores_reads_in_german() -> None:
    with use_language("de"):
        lines = _progress_lines()
    assert lines[:2] == ["In HubSpot gespeichert.", "Wird in HubSpot gespeichert …"]
    for line, reason in zip(lines[2:], REASONS, strict=True):
        assert line.startswith("Nicht in HubSpot gespeichert: "), line
        assert line.endswith(" Du bekommst eine Nachricht mit dem, was du tun kannst."), line
        assert set(ENGLISH_WORD.findall(line)) & ENGLISH_ONLY == set(), (reason, line)


@pytest.mark.parametrize("code", ["en", "de"])
def test_the_conflict_message_and_a_nudge_read_as_the_golden_copy(code: str) -> None:
    with use_language(code):
        conflict = write_notice_blocks(_conflict())
        nudge = render_nudge(_nudge())
        nudge_line = nudge_text(_nudge())
    assert matches_golden(f"conflict.{code}.txt", visible_text(conflict))
    assert matches_golden(f"nudge.{code}.txt", visible_text(nudge) + "---\n" + nudge_line + "\n")


def test_the_home_tab_shows_unsaved_changes_in_the_readers_language(
    sqlite_engine: Engine,
) -> None:
    """Through the Home tab's own path: rows in the outbox, the view, the notices on top."""
    with Session(sqlite_engine) as session:
        crm = CRM(session, NOW)
        rep = crm.user(slack_user_id="UREP", timezone="Europe/Berlin", name=MIA)
        task = crm.task(rep, subject=QUALM)
        deal = crm.deal(rep, name=QUALM)
        at = (NOW - timedelta(hours=3)).isoformat()
        for object_type, object_id, kind, state, (code, values), conflict in [
            (OwnedObject.ACTIVITY, task.id, "task", OutboxState.FAILED, REASONS[2], None),
            (
                OwnedObject.DEAL,
                deal.id,
                "deal",
                OutboxState.CONFLICT,
                (WriteReason.CHANGED_SINCE_SEEN, {}),
                {"close_date": {"at": at, "source": "WORKFLOWS"}},
            ),
        ]:
            session.add(
                OutboxWrite(
                    object_type=object_type,
                    object_id=object_id,
                    record_kind=kind,
                    operation=OutboxOperation.UPDATE,
                    actor_id=rep.id,
                    created_at=NOW,
                    state=state,
                    last_error=str(_reason(code, values)),
                    reason_code=code.value,
                    reason_values=values,
                    conflict=conflict,
                )
            )
        session.commit()
        rep_id = rep.id
    sessions = session_factory(sqlite_engine)
    enable_outbox(sessions, crm_name=CRM_NAME)
    services = Services(sessions=sessions, settings=load_settings(), clock=lambda: NOW)
    with sessions() as session:
        viewer = session.get(User, rep_id)
        assert viewer is not None
        with use_language("de"):
            view = render_workspace(
                session, viewer=viewer, state=ViewState(view=View.OVERVIEW), now=NOW, surface="home"
            ).blocks
            blocks = _with_unsaved_changes(services, rep_id, view)
        with use_translations(pseudo_language()):
            notices = unsaved_notices(session, rep_id, now=NOW)
            pseudo = [b for n in notices for b in write_notice_blocks(n)]
    assert block_problems(blocks, surface="home") == []
    home = visible_text(blocks)
    assert "Nicht in HubSpot gespeichert: „Qualmwerk“: Die HubSpot-App von salesbot darf" in home
    assert "eine Automatisierung hat das Abschlussdatum um 13:00 geändert" in home
    assert "[Erneut versuchen]" in home and "[Meine Änderung übernehmen]" in home
    assert "[Werte aus HubSpot behalten]" in home
    assert len(notices) == 2 and _english_left(*_texts(pseudo)) == set()
