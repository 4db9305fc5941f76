"""Logging meeting and call outcomes from Slack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from rules.meetings.ops import log_call_outcome, log_meeting_outcome
from rules.op_result import OpStatus
from storage.models import CallStatus, DealVisibility, Role
from tests.builders import CRM


def test_log_meeting_outcome_then_a_repeat_says_who_logged_it(
    session: Session, crm: CRM, now: datetime
) -> None:
    team = crm.team()
    dana = crm.user(name="Dana", team_id=team.id, role=Role.MANAGER)
    rep = crm.user(team_id=team.id, timezone="Europe/Paris")
    meeting = crm.meeting(rep, subject="Demo with Acme", starts_at=now - timedelta(hours=10))
    logged_at = datetime(2026, 3, 11, 8, 14, tzinfo=UTC)  # 9:14 in Paris

    result = log_meeting_outcome(session, dana, meeting.id, outcome="no_show", now=logged_at)
    assert result.message == "Done: outcome No show logged for 'Demo with Acme'."
    assert meeting.outcome == "no_show"

    again = log_meeting_outcome(session, rep, str(meeting.id), outcome="no_show", now=now)
    assert again.status is OpStatus.ALREADY
    assert again.message == "'Demo with Acme' was already logged as No show by Dana at 9:14."

    corrected = log_meeting_outcome(session, rep, meeting.id, outcome="completed", now=now)
    assert corrected.changed and meeting.outcome == "completed"


def test_meeting_outcome_refusals_change_nothing(session: Session, crm: CRM, now: datetime) -> None:
    team = crm.team()
    ana = crm.user(team_id=team.id, deal_visibility=DealVisibility.TEAM)
    ben = crm.user(name="Ben", team_id=team.id)
    bens = crm.meeting(ben)
    future = crm.meeting(ana, starts_at=now + timedelta(hours=1))
    call = crm.call(ana)

    forbidden = log_meeting_outcome(session, ana, bens.id, outcome="completed", now=now)
    assert forbidden.status is OpStatus.FORBIDDEN
    assert forbidden.message == "You can't change Ben's meeting."  # Ana may see it
    assert log_meeting_outcome(session, ana, future.id, outcome="completed", now=now).status is (
        OpStatus.INVALID
    )
    assert log_meeting_outcome(session, ana, call.id, outcome="completed", now=now).status is (
        OpStatus.NOT_FOUND
    )
    for junk_outcome in ("won", "", None, 3):
        assert log_meeting_outcome(session, ben, bens.id, outcome=junk_outcome, now=now).status is (
            OpStatus.INVALID
        )
    for junk_id in (None, "x", "-3"):
        assert log_meeting_outcome(session, ana, junk_id, outcome="completed", now=now).status is (
            OpStatus.INVALID
        )
    assert (bens.outcome, future.outcome) == ("scheduled", "scheduled")


def test_log_call_outcome_sets_disposition_and_status_once(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    call = crm.call(rep, subject="Call Acme", call_status=None, via_calling_feature=False)

    result = log_call_outcome(
        session, rep, call.id, disposition="Connected", status="completed", now=now
    )
    assert result.message == "Done: outcome Connected logged for 'Call Acme'."
    assert (call.outcome, call.call_status) == ("Connected", CallStatus.COMPLETED)

    again = log_call_outcome(session, rep, call.id, disposition="Connected", now=now)
    assert again.status is OpStatus.ALREADY
    assert again.message == "'Call Acme' was already logged as Connected by you at 15:30."


@pytest.mark.parametrize(
    ("disposition", "status"), [("", None), ("x" * 65, None), ("Connected", "exploded")]
)
def test_call_outcome_junk_is_refused(
    session: Session, crm: CRM, now: datetime, disposition: str, status: str | None
) -> None:
    rep = crm.user()
    call = crm.call(rep)
    result = log_call_outcome(
        session, rep, call.id, disposition=disposition, status=status, now=now
    )
    assert result.status is OpStatus.INVALID
    assert call.outcome is None
