"""Rules about meetings, calls and tasks: 4, 6, 7, 8, 12 and 13, with bundling, snapshots and
time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from rules.guided_actions import ActionType, open_actions
from storage.models import ActionState, Activity, ActivityContact, TaskPriority, TaskStatus, User
from storage.ownership import assign
from tests.builders import CRM
from tests.rules.guided_actions.support import (
    actions_of,
    check_creation,
    expired_by,
    open_objects,
    run,
)

T = ActionType
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


# --- 4. Sequence activity ----------------------------------------------------------------------


def _sequence_task(crm: CRM, broken: str | None = None) -> tuple[User, Activity]:
    rep = crm.user()
    contact = crm.contact(rep)
    enrollment = crm.enrollment(contact, rep)
    task = crm.task(
        crm.user() if broken == "assigned_to_you" else rep,
        sequence_enrollment_id=None if broken == "sequence_task" else enrollment.id,
        status=TaskStatus.COMPLETED if broken == "task_open" else TaskStatus.NOT_STARTED,
        contacts=[contact],
    )
    return rep, task


@pytest.mark.parametrize("broken", [None, "assigned_to_you", "sequence_task", "task_open"])
def test_sequence_task_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, task = _sequence_task(crm, broken)
    check_creation(session, now, T.SEQUENCE_ACTIVITY, task.id, broken, user_id=rep.id)


def test_sequence_task_expires_when_completed_or_reassigned(
    session: Session, crm: CRM, now: datetime
) -> None:
    t = T.SEQUENCE_ACTIVITY
    _rep, done = _sequence_task(crm)
    old_owner, moved = _sequence_task(crm)
    run(session, t, now)
    done.status = TaskStatus.COMPLETED
    assign(session, moved, crm.user().id, at=now + HOUR)
    session.flush()
    assert expired_by(session, t, done.id, now + HOUR) == "no_longer:task_open"
    assert expired_by(session, t, moved.id, now + HOUR, old_owner.id) == (
        "no_longer:assigned_to_you"
    )


# --- 6. Log a meeting outcome ------------------------------------------------------------------


def _ended_meeting(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Activity]:
    rep = crm.user()
    ended = now - 61 * MINUTE
    if broken == "ended_at_least_1h_ago":
        ended = now - 59 * MINUTE
    if broken == "ended_less_than_7_days_ago":
        ended = now - 7 * DAY
    meeting = crm.meeting(
        crm.user() if broken == "assigned_to_you" else rep,
        starts_at=ended - 30 * MINUTE,
        minutes=30,
        outcome="completed" if broken == "outcome_unset" else "scheduled",
    )
    return rep, meeting


@pytest.mark.parametrize(
    "broken",
    [
        None,
        "assigned_to_you",
        "ended_at_least_1h_ago",
        "ended_less_than_7_days_ago",
        "outcome_unset",
    ],
)
def test_meeting_outcome_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, meeting = _ended_meeting(crm, now, broken)
    check_creation(session, now, T.LOG_MEETING_OUTCOME, meeting.id, broken, user_id=rep.id)


def test_meeting_outcome_boundaries(session: Session, crm: CRM, now: datetime) -> None:
    t = T.LOG_MEETING_OUTCOME
    rep = crm.user()
    exactly_an_hour = crm.meeting(rep, starts_at=now - 90 * MINUTE, minutes=30)
    unset = crm.meeting(rep, starts_at=now - 2 * HOUR, minutes=30, outcome=None)
    run(session, t, now)
    assert open_objects(session, t) == {exactly_an_hour.id, unset.id}
    # It ended at now - 1h: open until its end is 7 days ago.
    assert expired_by(session, t, exactly_an_hour.id, now - HOUR + 7 * DAY - MINUTE) is None
    assert expired_by(session, t, exactly_an_hour.id, now - HOUR + 7 * DAY) == (
        "no_longer:ended_less_than_7_days_ago"
    )


def test_meeting_outcome_expires_when_the_outcome_is_logged(
    session: Session, crm: CRM, now: datetime
) -> None:
    t = T.LOG_MEETING_OUTCOME
    _rep, meeting = _ended_meeting(crm, now)
    run(session, t, now)
    meeting.outcome = "no_show"
    session.flush()
    assert expired_by(session, t, meeting.id, now + MINUTE) == "no_longer:outcome_unset"


# --- 7. Follow up on your meeting --------------------------------------------------------------


def _started_meeting(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Activity]:
    rep = crm.user()
    start = now - HOUR
    if broken == "started":
        start = now + MINUTE
    if broken == "ended_less_than_7_days_ago":
        start = now - 8 * DAY
    meeting = crm.meeting(crm.user() if broken == "assigned_to_you" else rep, starts_at=start)
    return rep, meeting


@pytest.mark.parametrize(
    "broken", [None, "assigned_to_you", "started", "ended_less_than_7_days_ago"]
)
def test_follow_up_meeting_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, meeting = _started_meeting(crm, now, broken)
    check_creation(session, now, T.FOLLOW_UP_MEETING, meeting.id, broken, user_id=rep.id)


def test_follow_up_meeting_expires_when_its_follow_ups_are_completed(
    session: Session, crm: CRM, now: datetime
) -> None:
    t = T.FOLLOW_UP_MEETING
    rep, meeting = _started_meeting(crm, now)
    run(session, t, now)
    crm.task(rep, follow_up_of_id=meeting.id, status=TaskStatus.COMPLETED)
    still_open = crm.task(rep, follow_up_of_id=meeting.id)
    assert expired_by(session, t, meeting.id, now + HOUR) is None
    still_open.status = TaskStatus.COMPLETED
    session.flush()
    assert expired_by(session, t, meeting.id, now + 2 * HOUR) == "follow_up_tasks_completed"


def test_follow_up_meeting_goes_where_its_links_put_it(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    deal = crm.deal(rep)
    on_deal = crm.meeting(rep, deals=[deal])
    lonely = crm.meeting(rep)
    run(session, T.FOLLOW_UP_MEETING, now)
    closing = open_actions(session, user_id=rep.id, now=now, category="closing")
    everything = open_actions(session, user_id=rep.id, now=now)
    assert [a.items[0].object.id for a in closing] == [on_deal.id]
    assert {a.items[0].object.id for a in everything} == {on_deal.id, lonely.id}


def test_snapshot_keeps_the_contact_at_creation(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    company = crm.company(name="Initech")
    first = crm.contact(rep, first_name="Ada", last_name="First", company_id=company.id)
    second = crm.contact(rep, first_name="Bo", last_name="Second")
    meeting = crm.meeting(rep, contacts=[first])
    run(session, T.FOLLOW_UP_MEETING, now)

    session.execute(delete(ActivityContact).where(ActivityContact.activity_id == meeting.id))
    crm.associate(meeting, contacts=[second])
    run(session, T.FOLLOW_UP_MEETING, now + MINUTE)

    [view] = open_actions(session, user_id=rep.id, now=now + MINUTE)
    assert view.contact is not None and view.contact.label == "Ada First"
    assert view.company is not None and view.company.label == "Initech"
    assert view.items[0].contact is not None and view.items[0].contact.id == first.id


# --- 8. Log call outcome, and bundling ---------------------------------------------------------


def _call(
    crm: CRM, now: datetime, broken: str | None = None, **extra: Any
) -> tuple[User, Activity]:
    rep = extra.pop("owner", None) or crm.user()
    start = now - 61 * MINUTE
    if broken == "started_at_least_1h_ago":
        start = now - 59 * MINUTE
    if broken == "started_less_than_7_days_ago":
        start = now - 7 * DAY
    call = crm.call(
        crm.user() if broken == "assigned_to_you" else rep,
        starts_at=start,
        call_status="busy" if broken == "status_completed" else "completed",
        outcome="Connected" if broken == "outcome_empty" else None,
        **extra,
    )
    return rep, call


@pytest.mark.parametrize(
    "broken",
    [
        None,
        "assigned_to_you",
        "started_at_least_1h_ago",
        "status_completed",
        "outcome_empty",
        "started_less_than_7_days_ago",
    ],
)
def test_call_outcome_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, call = _call(crm, now, broken)
    check_creation(session, now, T.LOG_CALL_OUTCOME, call.id, broken, user_id=rep.id)


def test_an_empty_status_counts_only_for_calls_logged_by_hand(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    _rep, by_hand = _call(crm, now, owner=rep, via_calling_feature=False)
    _rep, built_in = _call(crm, now, owner=rep)
    by_hand.call_status = None
    built_in.call_status = None
    session.flush()
    run(session, T.LOG_CALL_OUTCOME, now)
    assert open_objects(session, T.LOG_CALL_OUTCOME) == {by_hand.id}


def test_three_calls_make_one_action_and_logging_them_ends_it(
    session: Session, crm: CRM, now: datetime
) -> None:
    t = T.LOG_CALL_OUTCOME
    rep = crm.user()
    calls = [_call(crm, now - n * MINUTE, owner=rep)[1] for n in range(3)]
    run(session, t, now)
    [view] = open_actions(session, user_id=rep.id, now=now)
    assert view.title == "Log the outcome of 3 call(s)"
    assert len(view.items) == 3

    calls[0].outcome = "Connected"
    session.flush()
    run(session, t, now + MINUTE)
    [view] = open_actions(session, user_id=rep.id, now=now + MINUTE)
    assert {i.object.id for i in view.items} == {calls[1].id, calls[2].id}

    for call in calls[1:]:
        call.outcome = "Left voicemail"
    session.flush()
    run(session, t, now + 2 * MINUTE)
    assert open_actions(session, user_id=rep.id, now=now + 2 * MINUTE) == []
    [bundle] = actions_of(session, t)
    assert bundle.state is ActionState.EXPIRED and bundle.expired_condition == "no_open_items"

    # A new call later starts a new bundle; the logged ones do not come back.
    _rep, later = _call(crm, now + 3 * HOUR, owner=rep)
    run(session, t, now + 3 * HOUR)
    assert open_objects(session, t) == {later.id}
    assert len(actions_of(session, t)) == 2


# --- 12. Prepare for upcoming meetings ---------------------------------------------------------


def _upcoming(crm: CRM, now: datetime, broken: str | None = None) -> tuple[User, Activity]:
    rep = crm.user()
    start = now + 2 * HOUR  # 17:30 UTC, the same day
    if broken == "starts_later_today":
        start = now + 9 * HOUR  # 00:30 UTC tomorrow
    meeting = crm.meeting(
        crm.user() if broken == "assigned_to_you" else rep,
        starts_at=start,
        outcome="canceled" if broken == "still_scheduled" else "scheduled",
    )
    return rep, meeting


@pytest.mark.parametrize(
    "broken", [None, "assigned_to_you", "starts_later_today", "still_scheduled"]
)
def test_prepare_for_meeting_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, meeting = _upcoming(crm, now, broken)
    check_creation(session, now, T.PREPARE_FOR_MEETING, meeting.id, broken, user_id=rep.id)


def test_prepare_for_meeting_expires_10_minutes_after_the_start(
    session: Session, crm: CRM, now: datetime
) -> None:
    t = T.PREPARE_FOR_MEETING
    _rep, meeting = _upcoming(crm, now)
    run(session, t, now)
    start = now + 2 * HOUR
    assert expired_by(session, t, meeting.id, start + 9 * MINUTE) is None
    assert expired_by(session, t, meeting.id, start + 10 * MINUTE) == "ten_minutes_after_start"


def test_later_today_is_in_the_users_time_zone(session: Session, crm: CRM, now: datetime) -> None:
    # now is 15:30 UTC = 00:30 on the 12th in Tokyo.
    tokyo = crm.user(timezone="Asia/Tokyo")
    utc_rep = crm.user(timezone="UTC")
    evening_tokyo = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)  # 19:00 Tokyo, tomorrow in UTC
    for_tokyo = crm.meeting(tokyo, starts_at=evening_tokyo)
    for_utc = crm.meeting(utc_rep, starts_at=evening_tokyo)
    run(session, T.PREPARE_FOR_MEETING, now)
    assert open_objects(session, T.PREPARE_FOR_MEETING) == {for_tokyo.id}
    assert for_utc.id not in open_objects(session, T.PREPARE_FOR_MEETING)


# --- 13. Today's high-priority tasks -----------------------------------------------------------


def _urgent(
    crm: CRM, now: datetime, broken: str | None = None, owner: User | None = None
) -> tuple[User, Activity]:
    rep = owner or crm.user()
    task = crm.task(
        crm.user() if broken == "assigned_to_you" else rep,
        due_at=now + (10 * HOUR if broken == "due_today" else 4 * HOUR),
        priority=TaskPriority.MEDIUM if broken == "high_priority" else TaskPriority.HIGH,
        status=TaskStatus.COMPLETED if broken == "task_open" else TaskStatus.IN_PROGRESS,
    )
    return rep, task


@pytest.mark.parametrize(
    "broken", [None, "assigned_to_you", "high_priority", "task_open", "due_today"]
)
def test_high_priority_task_needs_every_criterion(
    session: Session, crm: CRM, now: datetime, broken: str | None
) -> None:
    rep, task = _urgent(crm, now, broken)
    check_creation(session, now, T.HIGH_PRIORITY_TASKS_TODAY, task.id, broken, user_id=rep.id)


def test_high_priority_tasks_bundle_and_end_when_none_is_due_today(
    session: Session, crm: CRM, now: datetime
) -> None:
    t = T.HIGH_PRIORITY_TASKS_TODAY
    rep, first = _urgent(crm, now)
    _rep, second = _urgent(crm, now, owner=rep)
    run(session, t, now)
    [view] = open_actions(session, user_id=rep.id, now=now)
    assert view.title == "2 high-priority task(s) due today" and len(view.items) == 2

    first.status = TaskStatus.COMPLETED
    second.due_at = now + 2 * DAY  # rescheduled
    session.flush()
    run(session, t, now + MINUTE)
    assert open_actions(session, user_id=rep.id, now=now + MINUTE) == []
    # The day after, the same tasks are not "due today" any more: nothing comes back.
    run(session, t, now + DAY)
    assert open_objects(session, t) == set()


@pytest.mark.parametrize(
    ("zone", "due", "expected"),
    [
        # 2026-03-11 15:30 UTC is 08:30 in Los Angeles (PDT, UTC-7) and 00:30 on the 12th
        # in Tokyo.
        ("America/Los_Angeles", datetime(2026, 3, 12, 6, 59, tzinfo=UTC), True),  # 23:59 LA
        ("America/Los_Angeles", datetime(2026, 3, 12, 7, 0, tzinfo=UTC), False),  # midnight
        ("Asia/Tokyo", datetime(2026, 3, 11, 15, 0, tzinfo=UTC), True),  # 00:00 the 12th
        ("Asia/Tokyo", datetime(2026, 3, 11, 14, 59, tzinfo=UTC), False),  # 23:59 the 11th
        ("Asia/Tokyo", datetime(2026, 3, 12, 14, 59, tzinfo=UTC), True),  # 23:59 the 12th
    ],
)
def test_due_today_is_the_users_own_day(
    session: Session, crm: CRM, now: datetime, zone: str, due: datetime, expected: bool
) -> None:
    rep = crm.user(timezone=zone)
    task = crm.task(rep, due_at=due, priority=TaskPriority.HIGH)
    run(session, T.HIGH_PRIORITY_TASKS_TODAY, now)
    assert (task.id in open_objects(session, T.HIGH_PRIORITY_TASKS_TODAY)) is expected


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (datetime(2026, 3, 8, 8, 0, tzinfo=UTC), True),  # 00:00 PST, the day's start
        (datetime(2026, 3, 9, 6, 59, tzinfo=UTC), True),  # 23:59 PDT
        (datetime(2026, 3, 9, 7, 0, tzinfo=UTC), False),  # 00:00 PDT: the 23-hour day is over
    ],
)
def test_due_today_across_the_daylight_saving_change(
    session: Session, crm: CRM, due: datetime, expected: bool
) -> None:
    # 8 March 2026: clocks in Los Angeles jump from 02:00 PST to 03:00 PDT.
    at = datetime(2026, 3, 8, 18, 0, tzinfo=UTC)
    rep = crm.user(timezone="America/Los_Angeles")
    task = crm.task(rep, due_at=due, priority=TaskPriority.HIGH)
    run(session, T.HIGH_PRIORITY_TASKS_TODAY, at)
    assert (task.id in open_objects(session, T.HIGH_PRIORITY_TASKS_TODAY)) is expected


def test_a_time_zone_override_wins(session: Session, crm: CRM, now: datetime) -> None:
    from storage.models import UserPreferences

    rep = crm.user(timezone="UTC")
    session.add(UserPreferences(user_id=rep.id, timezone_override="Asia/Tokyo"))
    task = crm.task(rep, due_at=datetime(2026, 3, 12, 12, 0, tzinfo=UTC), priority="high")
    run(session, T.HIGH_PRIORITY_TASKS_TODAY, now)
    assert open_objects(session, T.HIGH_PRIORITY_TASKS_TODAY) == {task.id}
