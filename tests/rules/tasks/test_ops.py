"""Task writes from buttons: each re-checks who acts, and a repeat changes nothing twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from rules.meetings.ops import log_call_outcome
from rules.op_result import OpResult, OpStatus
from rules.tasks.ops import (
    TaskDraft,
    TaskEdit,
    complete_task,
    create_follow_up_task,
    create_task,
    delete_task,
    edit_task,
    reassign_task,
    reschedule_task,
    turn_off_follow_up_prompt,
)
from storage.db import session_factory, unit_of_work
from storage.models import (
    Activity,
    ActivityDeal,
    Assignment,
    DealVisibility,
    OwnedObject,
    Role,
    TaskPriority,
    TaskStatus,
    UserPreferences,
)
from tests.builders import CRM

JUNK_IDS = [None, "", "abc", "-1", "0", "1.5", "99999999999999999999", True, "1; DROP"]


def _snapshot(session: Session, task: Activity) -> tuple[object, ...]:
    session.expire_all()
    row = session.get(Activity, task.id)
    assert row is not None
    return (row.status, row.due_at, row.owner_id, row.subject, row.priority, row.completed_at)


# Complete ----------------------------------------------------------------------------


def test_complete_marks_the_task_and_asks_for_a_follow_up(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user(name="Ana")
    task = crm.task(rep, subject="Call Acme")

    result = complete_task(session, rep, str(task.id), now=now)

    assert result.status is OpStatus.DONE
    assert result.message == "Done: 'Call Acme' completed."
    assert result.follow_up_prompt is True
    assert task.status is TaskStatus.COMPLETED
    assert task.completed_at == now
    assert task.completed_by_id == rep.id


def test_complete_skips_the_follow_up_prompt_when_turned_off(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    task = crm.task(rep)
    assert turn_off_follow_up_prompt(session, rep, now=now).status is OpStatus.DONE
    assert turn_off_follow_up_prompt(session, rep, now=now).status is OpStatus.ALREADY

    result = complete_task(session, rep, task.id, now=now)

    assert result.changed and result.follow_up_prompt is False
    prefs = session.get(UserPreferences, rep.id)
    assert prefs is not None and prefs.follow_up_prompt is False


def test_another_reps_task_is_refused_and_unchanged(
    session: Session, crm: CRM, now: datetime
) -> None:
    team = crm.team()
    # Ana sees her team's records (so she is told whose task it is) but may not change them.
    ana = crm.user(name="Ana", team_id=team.id, deal_visibility=DealVisibility.TEAM)
    ben = crm.user(name="Ben", team_id=team.id)
    task = crm.task(ben, subject="Ben's call")
    before = _snapshot(session, task)

    operations: tuple[Callable[[], OpResult], ...] = (
        lambda: complete_task(session, ana, task.id, now=now),
        lambda: reschedule_task(session, ana, task.id, to="tomorrow", now=now),
        lambda: reassign_task(session, ana, task.id, new_owner_id=ana.id, now=now),
        lambda: edit_task(session, ana, task.id, edit=TaskEdit(subject="Mine"), now=now),
        lambda: delete_task(session, ana, task.id, now=now),
    )
    for operation in operations:
        result = operation()
        assert result.status is OpStatus.FORBIDDEN
        assert result.message == "You can't change Ben's task."

    assert _snapshot(session, task) == before


def test_a_manager_may_act_for_their_team(session: Session, crm: CRM, now: datetime) -> None:
    team = crm.team()
    manager = crm.user(name="Mia", team_id=team.id, role=Role.MANAGER)
    rep = crm.user(team_id=team.id)
    task = crm.task(rep)
    assert complete_task(session, manager, task.id, now=now).changed
    assert task.completed_by_id == manager.id


@pytest.mark.parametrize("junk", JUNK_IDS)
def test_missing_or_junk_ids_are_refused(
    session: Session, crm: CRM, now: datetime, junk: object
) -> None:
    rep = crm.user()
    task = crm.task(rep)
    before = _snapshot(session, task)
    for operation in (complete_task, delete_task):
        result = operation(session, rep, junk, now=now)
        assert result.status is OpStatus.INVALID
        assert "which task" in result.message
    assert _snapshot(session, task) == before


def test_unknown_id_and_non_task_ids_are_not_found(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    meeting = crm.meeting(rep)
    assert complete_task(session, rep, 424242, now=now).status is OpStatus.NOT_FOUND
    assert complete_task(session, rep, meeting.id, now=now).status is OpStatus.NOT_FOUND


def test_double_click_completes_once(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    task = crm.task(rep, subject="Call Acme")
    complete_task(session, rep, task.id, now=now)

    again = complete_task(session, rep, task.id, now=now + timedelta(seconds=1))

    assert again.status is OpStatus.ALREADY
    assert again.message == "'Call Acme' was already completed by you at 15:30."
    assert task.completed_at == now


def test_completed_elsewhere_says_who_and_when_in_the_actors_zone(
    session: Session, crm: CRM, now: datetime
) -> None:
    team = crm.team()
    dana = crm.user(name="Dana", team_id=team.id, role=Role.MANAGER)
    rep = crm.user(team_id=team.id, timezone="America/New_York")
    task = crm.task(rep, subject="Call Acme")
    dana_clicked = datetime(2026, 3, 11, 13, 14, tzinfo=UTC)  # 9:14 in New York (EDT)
    complete_task(session, dana, task.id, now=dana_clicked)

    operations: tuple[Callable[[], OpResult], ...] = (
        lambda: complete_task(session, rep, task.id, now=now),
        lambda: reschedule_task(session, rep, task.id, to="tomorrow", now=now),
        lambda: edit_task(session, rep, task.id, edit=TaskEdit(subject="x"), now=now),
    )
    for operation in operations:
        result = operation()
        assert result.status is OpStatus.ALREADY
        assert result.message == "'Call Acme' was already completed by Dana at 9:14."
        assert result.by_name == "Dana" and result.at == dana_clicked


def test_concurrent_clicks_complete_once(sqlite_engine: Engine, now: datetime) -> None:
    sessions = session_factory(sqlite_engine)
    with unit_of_work(sessions) as session:
        crm = CRM(session, now)
        rep = crm.user()
        task_id = crm.task(rep).id
        rep_id = rep.id
    statuses: list[OpStatus] = []
    barrier = threading.Barrier(4)

    def click() -> None:
        barrier.wait()
        for _attempt in range(5):  # SQLite may refuse a stale snapshot: the handler retries
            try:
                with unit_of_work(sessions) as session:
                    actor = session.get(type(rep), rep_id)
                    assert actor is not None
                    statuses.append(complete_task(session, actor, task_id, now=now).status)
                return
            except Exception as error:
                if "locked" not in str(error):
                    raise

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [OpStatus.ALREADY] * 3 + [OpStatus.DONE]


# Reschedule --------------------------------------------------------------------------


def test_reschedule_tomorrow_and_next_week_keep_the_local_time(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user(timezone="America/Los_Angeles")
    # 10:00 in Los Angeles on Mar 11 (PDT, UTC-7).
    task = crm.task(rep, subject="Call Acme", due_at=datetime(2026, 3, 11, 17, 0, tzinfo=UTC))

    result = reschedule_task(session, rep, task.id, to="tomorrow", now=now)
    assert result.message == "Done: 'Call Acme' is now due tomorrow at 10:00."
    assert task.due_at == datetime(2026, 3, 12, 17, 0, tzinfo=UTC)
    assert task.occurred_at == task.due_at

    again = reschedule_task(session, rep, task.id, to="tomorrow", now=now)
    assert again.status is OpStatus.ALREADY

    reschedule_task(session, rep, task.id, to="next_week", now=now)
    assert task.due_at == datetime(2026, 3, 18, 17, 0, tzinfo=UTC)


def test_reschedule_across_a_daylight_saving_change(session: Session, crm: CRM) -> None:
    # Berlin springs forward on Sunday Mar 29, 2026: 9:00 is 08:00 UTC before, 07:00 after.
    now = datetime(2026, 3, 25, 10, 0, tzinfo=UTC)
    rep = crm.user(timezone="UTC")
    session.add(UserPreferences(user_id=rep.id, timezone_override="Europe/Berlin"))
    task = crm.task(rep, due_at=datetime(2026, 3, 25, 8, 0, tzinfo=UTC))

    reschedule_task(session, rep, task.id, to="next_week", now=now)
    assert task.due_at == datetime(2026, 4, 1, 7, 0, tzinfo=UTC)

    reschedule_task(session, rep, task.id, to="2026-03-28", now=now)
    assert task.due_at == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)


def test_reschedule_to_a_picked_date_refuses_the_past_and_junk(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    task = crm.task(rep)
    before = _snapshot(session, task)
    assert reschedule_task(session, rep, task.id, to="2026-03-10", now=now).status is (
        OpStatus.INVALID
    )
    assert reschedule_task(session, rep, task.id, to="someday", now=now).status is (
        OpStatus.INVALID
    )
    assert _snapshot(session, task) == before
    result = reschedule_task(session, rep, task.id, to=date(2026, 3, 20), now=now)
    assert result.changed and task.due_at is not None and task.due_at.date() == date(2026, 3, 20)


# Reassign ----------------------------------------------------------------------------


def test_reassign_keeps_history_and_is_limited_to_people_one_acts_for(
    session: Session, crm: CRM, now: datetime
) -> None:
    team, other = crm.team(), crm.team()
    manager = crm.user(name="Mia", team_id=team.id, role=Role.MANAGER)
    ana = crm.user(name="Ana", team_id=team.id)
    ben = crm.user(name="Ben", team_id=team.id)
    outsider = crm.user(name="Olga", team_id=other.id)
    task = crm.task(ana, subject="Call Acme")

    refused = reassign_task(session, manager, task.id, new_owner_id=outsider.id, now=now)
    assert refused.status is OpStatus.FORBIDDEN
    assert refused.message == "You can't assign tasks to Olga."
    assert reassign_task(session, ana, task.id, new_owner_id=ben.id, now=now).status is (
        OpStatus.FORBIDDEN
    )
    assert task.owner_id == ana.id

    result = reassign_task(session, manager, task.id, new_owner_id=str(ben.id), now=now)
    assert result.message == "Done: 'Call Acme' is now assigned to Ben."
    assert task.owner_id == ben.id
    history = session.scalars(
        select(Assignment.owner_id).where(
            Assignment.object_type == OwnedObject.ACTIVITY, Assignment.object_id == task.id
        )
    ).all()
    assert history == [ben.id]

    again = reassign_task(session, manager, task.id, new_owner_id=ben.id, now=now)
    assert again.status is OpStatus.ALREADY
    assert reassign_task(session, manager, task.id, new_owner_id="x", now=now).status is (
        OpStatus.INVALID
    )


# Edit --------------------------------------------------------------------------------


def test_edit_changes_only_given_fields_and_validates(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    task = crm.task(rep, subject="Call Acme", body="old notes")
    due = now + timedelta(days=2)

    result = edit_task(
        session,
        rep,
        task.id,
        edit=TaskEdit(subject="  Call Acme back ", due_at=due, priority="high"),
        now=now,
    )
    assert result.changed
    assert (task.subject, task.due_at, task.priority, task.body) == (
        "Call Acme back",
        due,
        TaskPriority.HIGH,
        "old notes",
    )
    repeat = edit_task(session, rep, task.id, edit=TaskEdit(subject="Call Acme back"), now=now)
    assert repeat.status is OpStatus.ALREADY

    for bad in (TaskEdit(subject="  "), TaskEdit(priority="urgent"), TaskEdit(subject="x" * 501)):
        assert edit_task(session, rep, task.id, edit=bad, now=now).status is OpStatus.INVALID
    assert task.subject == "Call Acme back"


# Delete ------------------------------------------------------------------------------


def test_delete_removes_the_task_and_a_late_click_says_who_deleted_it(
    session: Session, crm: CRM, now: datetime
) -> None:
    team = crm.team()
    dana = crm.user(name="Dana", team_id=team.id, role=Role.MANAGER)
    rep = crm.user(team_id=team.id)
    deal = crm.deal(rep)
    task = crm.task(rep, subject="Call Acme", deals=[deal])
    follow_up = crm.task(rep, subject="Then email", follow_up_of_id=task.id)
    task_id = task.id
    at = now - timedelta(minutes=5)

    result = delete_task(session, dana, task_id, now=at)

    assert result.message == "Done: 'Call Acme' deleted."
    session.expire_all()
    assert session.get(Activity, task_id) is None
    assert session.scalar(select(func.count()).select_from(ActivityDeal)) == 0
    assert session.get_one(Activity, follow_up.id).follow_up_of_id is None
    for operation in (complete_task, delete_task):
        late = operation(session, rep, task_id, now=now)
        assert late.status is OpStatus.ALREADY
        assert late.message == "'Call Acme' was already deleted by Dana at 15:25."


def test_a_deleted_task_of_someone_else_stays_not_found(
    session: Session, crm: CRM, now: datetime
) -> None:
    ana, ben = crm.user(), crm.user()
    task = crm.task(ben)
    task_id = task.id
    delete_task(session, ben, task_id, now=now)
    assert complete_task(session, ana, task_id, now=now).status is OpStatus.NOT_FOUND


# Create ------------------------------------------------------------------------------


def test_create_task_and_follow_up_copies_the_links(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    contact = crm.contact(rep)
    deal = crm.deal(rep)
    parent = crm.task(rep, contacts=[contact], deals=[deal])
    complete_task(session, rep, parent.id, now=now)
    due = now + timedelta(days=1)

    result = create_follow_up_task(
        session, rep, parent.id, TaskDraft(subject="Send proposal", due_at=due), now=now
    )

    assert result.changed
    assert result.message == "Done: task 'Send proposal' created, due tomorrow at 15:30."
    created = session.get(Activity, result.record_id)
    assert created is not None
    assert created.follow_up_of_id == parent.id and created.owner_id == rep.id
    assert [c.id for c in created.contacts] == [contact.id]
    assert [d.id for d in created.deals] == [deal.id]
    assert created.status is TaskStatus.NOT_STARTED


def test_create_task_refuses_other_owners_invisible_deals_and_bad_input(
    session: Session, crm: CRM, now: datetime
) -> None:
    ana, ben = crm.user(), crm.user(name="Ben")
    bens_deal = crm.deal(ben)
    due = now + timedelta(days=1)
    count = session.scalar(select(func.count()).select_from(Activity))

    other = create_task(session, ana, TaskDraft("x", due, owner_id=ben.id), now=now)
    assert other.status is OpStatus.FORBIDDEN
    assert other.message == "You can't create tasks for Ben."
    hidden = create_task(session, ana, TaskDraft("x", due, deal_id=bens_deal.id), now=now)
    assert hidden.status is OpStatus.INVALID
    for bad in (
        TaskDraft("", due),
        TaskDraft("x", due.replace(tzinfo=None)),
        TaskDraft("x", due, priority="urgent"),
    ):
        assert create_task(session, ana, bad, now=now).status is OpStatus.INVALID
    assert session.scalar(select(func.count()).select_from(Activity)) == count


def test_writes_and_the_change_log_on_both_databases(any_engine: Engine, now: datetime) -> None:
    sessions = session_factory(any_engine)
    with unit_of_work(sessions) as session:
        crm = CRM(session, now)
        dana = crm.user(name="Dana", role=Role.SUPER_ADMIN)
        task = crm.task(crm.user(), subject="Call Acme")
        other = crm.task(crm.user(), subject="Email Acme")
        dana_id, task_id, other_id = dana.id, task.id, other.id

    with unit_of_work(sessions) as session:
        actor = session.get(type(dana), dana_id)
        assert actor is not None
        assert complete_task(session, actor, task_id, now=now).changed
        assert delete_task(session, actor, other_id, now=now).changed

    with unit_of_work(sessions) as session:
        actor = session.get(type(dana), dana_id)
        assert actor is not None
        again = complete_task(session, actor, task_id, now=now + timedelta(minutes=1))
        late = complete_task(session, actor, other_id, now=now)
        assert again.message == "'Call Acme' was already completed by you at 15:30."
        assert late.message == "'Email Acme' was already deleted by you at 15:30."
        assert session.get(Activity, other_id) is None


def test_a_refusal_never_names_the_owner_of_a_record_you_cannot_see(
    session: Session, crm: CRM, now: datetime
) -> None:
    team = crm.team()
    ben = crm.user(name="Ben Secret", team_id=team.id)
    outsider = crm.user(name="Olga")  # sees only her own records
    teammate = crm.user(name="Tia", team_id=team.id, deal_visibility=DealVisibility.TEAM)
    task = crm.task(ben, subject="Call the buyer")
    call = crm.call(ben, starts_at=now - timedelta(hours=2))
    session.flush()

    hidden = [
        complete_task(session, outsider, task.id, now=now),
        log_call_outcome(session, outsider, call.id, disposition="Connected", now=now),
    ]
    for result in hidden:
        assert result.status is OpStatus.NOT_FOUND, result
        assert "Ben" not in result.message
    # Someone who may see the task is told whose it is.
    seen = complete_task(session, teammate, task.id, now=now)
    assert (seen.status, seen.message) == (
        OpStatus.FORBIDDEN,
        "You can't change Ben Secret's task.",
    )
