"""Task buttons and forms through signed requests, against a stand-in Slack."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from handlers.render.kit import section
from handlers.render.task_modals import edit_task_modal, pick_date_modal, task_controls
from handlers.slack import ids
from storage.models import Activity, Role, TaskPriority, TaskStatus, UserPreferences
from tests.builders import CRM
from tests.handlers.payloads import acked, block_action, send, view_submission
from tests.support.app import RunningApp, start_app


def _row(task: Activity) -> list[dict[str, Any]]:
    return [
        section(f"*{task.subject}*", block_id=f"row:{task.id}"),
        task_controls(task.id, task.subject),
    ]


def _click_in_message(
    running_app: RunningApp,
    user_id: str,
    action_id: str,
    value: str,
    blocks: list[dict[str, Any]],
    **kw: Any,
) -> None:
    send(
        running_app,
        block_action(
            user_id=user_id,
            action_id=action_id,
            value=value,
            block_id=kw.pop("block_id", blocks[-1]["block_id"] if blocks else "b"),
            blocks=blocks,
            response_url=running_app.slack.response_url("msg"),
            **kw,
        ),
    )


def _reloaded(session: Session, task_id: int) -> Activity | None:
    session.expire_all()
    return session.get(Activity, task_id)


def test_complete_from_a_message_updates_it_in_place_with_the_follow_up_prompt(
    running_app: RunningApp, session: Session, crm: CRM, now: datetime
) -> None:
    ana = crm.user(name="Ana", slack_user_id="UANA")
    task = crm.task(ana, subject="Call Acme")
    session.commit()

    _click_in_message(running_app, "UANA", ids.TASK_COMPLETE, str(task.id), _row(task))

    [update] = running_app.slack.wait_for("chat.update")
    assert (update.params["channel"], update.params["ts"]) == ("D0TEST", "1700000000.000100")
    blocks = update.json_param("blocks")
    assert blocks[0]["block_id"] == f"row:{task.id}"  # the task line stays
    assert (
        "Done: 'Call Acme' completed. Create a follow-up task?" in blocks[1]["elements"][0]["text"]
    )
    assert [e["text"]["text"] for e in blocks[2]["elements"]] == [
        "Create task",
        "Not now",
        "Task settings",
        "Reopen",
    ]
    saved = _reloaded(session, task.id)
    assert saved is not None and saved.status is TaskStatus.COMPLETED
    assert (saved.completed_at, saved.completed_by_id) == (now, ana.id)


def test_another_reps_task_id_is_refused_with_nothing_changed(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    team = crm.team()
    crm.user(name="Ana", slack_user_id="UANA", team_id=team.id)
    ben = crm.user(name="Ben", slack_user_id="UBEN", team_id=team.id)
    task = crm.task(ben, subject="Ben's call")
    session.commit()

    for action_id, value in (
        (ids.TASK_COMPLETE, str(task.id)),
        (ids.TASK_DELETE, str(task.id)),
        (ids.TASK_RESCHEDULE, f"{task.id}:tomorrow"),
    ):
        running_app.slack.clear()
        _click_in_message(
            running_app,
            "UANA",
            action_id,
            value,
            _row(task),
            selected=action_id == ids.TASK_RESCHEDULE,
        )
        [reply] = running_app.slack.wait_for("response_url")
        assert reply.params["replace_original"] is False
        assert reply.params["response_type"] == "ephemeral"
        # Ana cannot see Ben's task: the refusal neither names him nor confirms it exists.
        assert "no longer exists or never did" in reply.params["text"]
        assert "Ben" not in reply.params["text"]

    saved = _reloaded(session, task.id)
    assert saved is not None
    assert (saved.status, saved.due_at, saved.completed_at) == (
        TaskStatus.NOT_STARTED,
        task.due_at,
        None,
    )
    assert running_app.slack.calls_to("views.open") == []


def test_missing_and_junk_ids_are_refused(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    ana = crm.user(slack_user_id="UANA")
    task = crm.task(ana)
    session.commit()

    for junk in ("", "abc", "-5", "1e3", "99999999999999999999", " "):
        running_app.slack.clear()
        _click_in_message(running_app, "UANA", ids.TASK_COMPLETE, junk, _row(task))
        [reply] = running_app.slack.wait_for("response_url")
        assert "didn't say which task" in reply.params["text"]
    saved = _reloaded(session, task.id)
    assert saved is not None and saved.status is TaskStatus.NOT_STARTED


def test_an_unlinked_slack_user_is_told_what_to_do(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    task = crm.task(crm.user(slack_user_id="UANA"))
    session.commit()
    _click_in_message(running_app, "USTRANGER", ids.TASK_COMPLETE, str(task.id), _row(task))
    [reply] = running_app.slack.wait_for("response_url")
    assert "ask your salesbot admin to link you" in reply.params["text"]


def test_a_double_click_is_applied_once(
    running_app: RunningApp, session: Session, crm: CRM, now: datetime
) -> None:
    ana = crm.user(slack_user_id="UANA")
    task = crm.task(ana, subject="Call Acme")
    session.commit()

    _click_in_message(running_app, "UANA", ids.TASK_COMPLETE, str(task.id), _row(task))
    _click_in_message(running_app, "UANA", ids.TASK_COMPLETE, str(task.id), _row(task))

    first, second = running_app.slack.wait_for("chat.update", 2)
    assert "Create a follow-up task?" in str(first.params["blocks"])
    assert "'Call Acme' was already completed by you at 15:30." in str(second.params["blocks"])
    saved = _reloaded(session, task.id)
    assert saved is not None and saved.completed_at == now


def _home(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "VHOME",
        "type": "home",
        "blocks": blocks,
        "private_metadata": "",
        "callback_id": "home",
        "hash": "123.abc",
    }


def test_an_item_done_elsewhere_refreshes_the_home_tab_and_says_who(
    running_app: RunningApp, session: Session, crm: CRM, sqlite_engine: Engine
) -> None:
    team = crm.team()
    dana = crm.user(name="Dana", team_id=team.id, role=Role.MANAGER, slack_user_id="UDANA")
    rep = crm.user(team_id=team.id, timezone="America/New_York", slack_user_id="UREP")
    task = crm.task(rep, subject="Call Acme")
    session.commit()
    stale_home = _home([section("Tasks due today"), *_row(task)])

    # Dana completed it at 9:14 New York time (13:14 UTC), from her own digest.
    at_914 = datetime(2026, 3, 11, 13, 14, tzinfo=UTC)
    with start_app(sqlite_engine, running_app.slack, clock=lambda: at_914) as earlier_app:
        _click_in_message(earlier_app, "UDANA", ids.TASK_COMPLETE, str(task.id), _row(task))
    assert "Done" in str(running_app.slack.wait_for("chat.update")[0].params["blocks"])
    del dana

    send(
        running_app,
        block_action(
            user_id="UREP",
            action_id=ids.TASK_COMPLETE,
            value=str(task.id),
            block_id=f"task:{task.id}",
            container="view",
            view=stale_home,
        ),
    )

    [publish] = running_app.slack.wait_for("views.publish")
    assert publish.params["user_id"] == "UREP"
    view = publish.json_param("view")
    notice = view["blocks"][1]  # right under the header
    assert notice["block_id"] == "button_result"
    assert "'Call Acme' was already completed by Dana at 09:14." in str(notice)


def test_reschedule_tomorrow_from_the_home_tab(
    running_app: RunningApp, session: Session, crm: CRM, now: datetime
) -> None:
    ana = crm.user(slack_user_id="UANA", timezone="Europe/Berlin")
    task = crm.task(ana, subject="Call Acme", due_at=datetime(2026, 3, 11, 9, 0, tzinfo=UTC))
    session.commit()

    send(
        running_app,
        block_action(
            user_id="UANA",
            action_id=ids.TASK_RESCHEDULE,
            value=f"{task.id}:tomorrow",
            block_id=f"task:{task.id}",
            container="view",
            view=_home(_row(task)),
            selected=True,
        ),
    )

    [publish] = running_app.slack.wait_for("views.publish")
    assert "is now due tomorrow at 10:00" in str(publish.json_param("view")["blocks"])
    saved = _reloaded(session, task.id)
    assert saved is not None and saved.due_at == datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


def test_pick_a_date_opens_a_modal_and_its_submission_reschedules(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    ana = crm.user(slack_user_id="UANA")
    task = crm.task(ana, due_at=datetime(2026, 3, 11, 17, 45, tzinfo=UTC))
    session.commit()

    _click_in_message(
        running_app, "UANA", ids.TASK_RESCHEDULE, f"{task.id}:pick", _row(task), selected=True
    )
    [opened] = running_app.slack.wait_for("views.open")
    view = opened.json_param("view")
    assert view["callback_id"] == ids.VIEW_TASK_RESCHEDULE

    response = send(
        running_app,
        view_submission(
            user_id="UANA",
            view=view,
            values={
                "due_date": {"due_date": {"type": "datepicker", "selected_date": "2026-03-20"}}
            },
        ),
    )

    assert acked(response)["response_action"] == "update"
    saved = _reloaded(session, task.id)
    assert saved is not None and saved.due_at == datetime(2026, 3, 20, 17, 45, tzinfo=UTC)
    [told] = running_app.slack.wait_for("response_url")
    assert "is now due on Fri 20 Mar at 17:45" in told.params["text"]


def test_a_past_date_gets_an_error_under_the_field(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    ana = crm.user(slack_user_id="UANA")
    task = crm.task(ana)
    session.commit()

    view = pick_date_modal(task, datetime(2026, 3, 11).date(), origin={})
    response = send(
        running_app,
        view_submission(
            user_id="UANA",
            view=view,
            values={
                "due_date": {"due_date": {"type": "datepicker", "selected_date": "2026-01-01"}}
            },
        ),
    )
    assert acked(response) == {
        "response_action": "errors",
        "errors": {"due_date": "Pick today or a later date."},
    }
    saved = _reloaded(session, task.id)
    assert saved is not None and saved.due_at == task.due_at


def test_edit_modal_round_trip(running_app: RunningApp, session: Session, crm: CRM) -> None:
    ana = crm.user(slack_user_id="UANA", timezone="America/New_York")
    task = crm.task(ana, subject="Call Acme", due_at=datetime(2026, 3, 12, 14, 0, tzinfo=UTC))
    session.commit()

    _click_in_message(running_app, "UANA", ids.TASK_EDIT, str(task.id), _row(task))
    [opened] = running_app.slack.wait_for("views.open")
    view = opened.json_param("view")
    fields = {block["block_id"]: block["element"] for block in view["blocks"]}
    assert fields["subject"]["initial_value"] == "Call Acme"
    assert (fields["due_date"]["initial_date"], fields["due_time"]["initial_time"]) == (
        "2026-03-12",
        "10:00",
    )

    response = send(
        running_app,
        view_submission(
            user_id="UANA",
            view=view,
            values={
                "subject": {"subject": {"type": "plain_text_input", "value": "Call Acme's CFO"}},
                "due_date": {"due_date": {"type": "datepicker", "selected_date": "2026-03-13"}},
                "due_time": {"due_time": {"type": "timepicker", "selected_time": "08:30"}},
                "priority": {
                    "priority": {"type": "static_select", "selected_option": {"value": "high"}}
                },
                "notes": {"notes": {"type": "plain_text_input", "value": "Ask about budget"}},
            },
        ),
    )

    assert acked(response)["response_action"] == "update"
    saved = _reloaded(session, task.id)
    assert saved is not None
    assert (saved.subject, saved.priority, saved.body) == (
        "Call Acme's CFO",
        TaskPriority.HIGH,
        "Ask about budget",
    )
    assert saved.due_at == datetime(2026, 3, 13, 12, 30, tzinfo=UTC)


def test_edit_errors_show_under_the_field_they_are_about(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    ana = crm.user(slack_user_id="UANA")
    task = crm.task(ana, subject="Call Acme")
    session.commit()
    view = edit_task_modal(task, ZoneInfo("UTC"), origin={})

    def submitted(subject: str, notes: str) -> dict[str, Any]:
        values = {
            "subject": {"subject": {"type": "plain_text_input", "value": subject}},
            "due_date": {"due_date": {"type": "datepicker", "selected_date": "2026-03-13"}},
            "due_time": {"due_time": {"type": "timepicker", "selected_time": "08:30"}},
            "notes": {"notes": {"type": "plain_text_input", "value": notes}},
        }
        return acked(send(running_app, view_submission(user_id="UANA", view=view, values=values)))

    assert submitted(" ", "") == {
        "response_action": "errors",
        "errors": {"subject": "A task needs a subject."},
    }
    too_long = submitted("Call Acme", "x" * 10_001)  # past the input's limit: a forged form
    assert list(too_long["errors"]) == ["notes"]
    saved = _reloaded(session, task.id)
    assert saved is not None and (saved.subject, saved.body) == ("Call Acme", task.body)


def test_saving_an_edit_form_writes_only_what_the_user_changed(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    """A colleague's change made while the form was open is neither undone nor lost, and
    notes longer than the form can show are not cut by saving another field."""
    ana = crm.user(slack_user_id="UANA")
    long_notes = "Budget call notes. " * 250  # 4,750 characters: the form shows 3,000
    task = crm.task(
        ana,
        subject="Call Acme",
        due_at=datetime(2026, 3, 12, 14, 0, tzinfo=UTC),
        body=long_notes,
    )
    session.commit()
    view = edit_task_modal(task, ZoneInfo("UTC"), origin={})
    fields = {block["block_id"]: block["element"] for block in view["blocks"]}
    task.subject = "Call Acme's CFO, not the CEO"  # a colleague, while Ana's form is open
    session.commit()

    def submitted(subject: str, priority: str) -> dict[str, Any]:
        values = {
            "subject": {"subject": {"type": "plain_text_input", "value": subject}},
            "due_date": {"due_date": {"type": "datepicker", "selected_date": "2026-03-12"}},
            "due_time": {"due_time": {"type": "timepicker", "selected_time": "14:00"}},
            "priority": {
                "priority": {"type": "static_select", "selected_option": {"value": priority}}
            },
            "notes": {
                "notes": {"type": "plain_text_input", "value": fields["notes"]["initial_value"]}
            },
        }
        return acked(send(running_app, view_submission(user_id="UANA", view=view, values=values)))

    assert submitted("Call Acme", "high")["response_action"] == "update"
    saved = _reloaded(session, task.id)
    assert saved is not None
    assert (saved.subject, saved.priority, saved.body) == (
        "Call Acme's CFO, not the CEO",
        TaskPriority.HIGH,
        long_notes,
    )

    refused = submitted("Call Acme today", "high")
    assert refused["response_action"] == "errors"
    assert "Someone changed" in next(iter(refused["errors"].values()))
    session.expire_all()
    kept = _reloaded(session, task.id)
    assert kept is not None and kept.subject == "Call Acme's CFO, not the CEO"


def test_a_forged_edit_of_someone_elses_task_is_refused(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    crm.user(slack_user_id="UANA")
    ben = crm.user(name="Ben", slack_user_id="UBEN")
    task = crm.task(ben, subject="Ben's call")
    session.commit()

    view = edit_task_modal(task, ZoneInfo("UTC"), origin={})  # as if Ana had opened it
    response = send(
        running_app,
        view_submission(
            user_id="UANA",
            view=view,
            values={
                "subject": {"subject": {"type": "plain_text_input", "value": "Mine"}},
                "due_date": {"due_date": {"type": "datepicker", "selected_date": "2026-03-13"}},
                "due_time": {"due_time": {"type": "timepicker", "selected_time": "08:30"}},
            },
        ),
    )
    answer = acked(response)
    assert answer["response_action"] == "update"
    assert "no longer exists or never did" in str(answer["view"]["blocks"])
    assert "Ben's task" not in str(answer["view"]["blocks"])
    saved = _reloaded(session, task.id)
    assert saved is not None and saved.subject == "Ben's call"


def test_reassign_maps_the_picked_slack_user(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    team = crm.team()
    manager = crm.user(name="Mia", role=Role.MANAGER, team_id=team.id, slack_user_id="UMIA")
    crm.user(name="Ana", team_id=team.id, slack_user_id="UANA")
    ben = crm.user(name="Ben", team_id=team.id, slack_user_id="UBEN")
    task = crm.task(manager, subject="Call Acme")
    session.commit()

    _click_in_message(running_app, "UMIA", ids.TASK_REASSIGN, str(task.id), _row(task))
    view = running_app.slack.wait_for("views.open")[0].json_param("view")

    def pick(user: str) -> dict[str, Any]:
        return {"owner": {"owner": {"type": "users_select", "selected_user": user}}}

    unknown = send(running_app, view_submission(user_id="UMIA", view=view, values=pick("UNOBODY")))
    assert acked(unknown)["errors"] == {"owner": "That person isn't linked to a CRM user."}
    assert (
        acked(send(running_app, view_submission(user_id="UMIA", view=view, values=pick("UBEN"))))[
            "response_action"
        ]
        == "update"
    )

    saved = _reloaded(session, task.id)
    assert saved is not None and saved.owner_id == ben.id


def test_delete_then_a_late_click_says_who_deleted_it(
    running_app: RunningApp, session: Session, crm: CRM, now: datetime
) -> None:
    ana = crm.user(name="Ana", slack_user_id="UANA")
    task = crm.task(ana, subject="Call Acme")
    task_id = task.id
    session.commit()

    _click_in_message(running_app, "UANA", ids.TASK_DELETE, str(task_id), _row(task))
    _click_in_message(running_app, "UANA", ids.TASK_COMPLETE, str(task_id), _row(task))

    deleted, late = running_app.slack.wait_for("chat.update", 2)
    assert "Done: 'Call Acme' deleted." in str(deleted.params["blocks"])
    assert "'Call Acme' was already deleted by you at 15:30." in str(late.params["blocks"])
    assert _reloaded(session, task_id) is None


def test_follow_up_buttons(
    running_app: RunningApp, session: Session, crm: CRM, now: datetime
) -> None:
    ana = crm.user(slack_user_id="UANA")
    deal = crm.deal(ana)
    task = crm.task(ana, subject="Call Acme", deals=[deal])
    session.commit()
    _click_in_message(running_app, "UANA", ids.TASK_COMPLETE, str(task.id), _row(task))
    prompt_message = running_app.slack.wait_for("chat.update")[0].json_param("blocks")

    running_app.slack.clear()
    _click_in_message(
        running_app,
        "UANA",
        ids.FOLLOW_UP_CREATE,
        str(task.id),
        prompt_message,
        block_id=f"task:{task.id}",
    )
    view = running_app.slack.wait_for("views.open")[0].json_param("view")
    assert view["title"]["text"] == "Follow-up task"
    fields = {b.get("block_id"): b.get("element") for b in view["blocks"]}
    assert fields["subject"]["initial_value"] == "Follow up: Call Acme"
    assert fields["due_date"]["initial_date"] == "2026-03-12"

    response = send(
        running_app,
        view_submission(
            user_id="UANA",
            view=view,
            values={
                "subject": {"subject": {"type": "plain_text_input", "value": "Send the proposal"}},
                "due_date": {"due_date": {"type": "datepicker", "selected_date": "2026-03-12"}},
                "due_time": {"due_time": {"type": "timepicker", "selected_time": "09:00"}},
                "task_type": {
                    "task_type": {"type": "static_select", "selected_option": {"value": "email"}}
                },
                "priority": {
                    "priority": {"type": "static_select", "selected_option": {"value": "none"}}
                },
            },
        ),
    )
    assert acked(response)["response_action"] == "update"
    session.expire_all()
    follow_up = session.scalar(select(Activity).where(Activity.follow_up_of_id == task.id))
    assert follow_up is not None and follow_up.subject == "Send the proposal"
    assert [d.id for d in follow_up.deals] == [deal.id]

    running_app.slack.clear()
    _click_in_message(
        running_app,
        "UANA",
        ids.FOLLOW_UP_SETTINGS,
        str(task.id),
        prompt_message,
        block_id=f"task:{task.id}",
    )
    [reply] = running_app.slack.wait_for("chat.update")
    assert "won't be asked about follow-up tasks" in str(reply.params["blocks"])
    session.expire_all()
    prefs = session.get(UserPreferences, ana.id)
    assert prefs is not None and prefs.follow_up_prompt is False


def test_the_task_queue_walks_through_a_bucket(
    running_app: RunningApp, session: Session, crm: CRM, now: datetime
) -> None:
    ana = crm.user(slack_user_id="UANA")
    first = crm.task(ana, subject="First", due_at=now - timedelta(hours=2))
    second = crm.task(ana, subject="Second", due_at=now + timedelta(hours=2))
    crm.task(ana, subject="Tomorrow", due_at=now + timedelta(days=1))
    session.commit()

    _click_in_message(
        running_app,
        "UANA",
        ids.TASK_QUEUE_START,
        "due_today",
        [section("x", block_id="b")],
        block_id="b",
    )
    view = running_app.slack.wait_for("views.open")[0].json_param("view")
    assert "Task 1 of 2" in str(view["blocks"]) and "First" in str(view["blocks"])

    def click_in_queue(action_id: str, task_id: int, current: dict[str, Any]) -> dict[str, Any]:
        running_app.slack.clear()
        send(
            running_app,
            block_action(
                user_id="UANA",
                action_id=action_id,
                value=str(task_id),
                block_id=f"queue:{task_id}",
                container="view",
                view={**current, "id": "VQUEUE"},
            ),
        )
        [update] = running_app.slack.wait_for("views.update")
        assert update.params["view_id"] == "VQUEUE"
        view: dict[str, Any] = update.json_param("view")
        return view

    view = click_in_queue(ids.TASK_QUEUE_COMPLETE, first.id, view)
    assert "Done: 'First' completed." in str(view["blocks"]) and "Second" in str(view["blocks"])
    view = click_in_queue(ids.TASK_QUEUE_NEXT, second.id, view)
    assert "That's all the tasks in this list." in str(view["blocks"])
    session.expire_all()
    assert session.get_one(Activity, first.id).status is TaskStatus.COMPLETED
    assert session.get_one(Activity, second.id).status is TaskStatus.NOT_STARTED


def test_a_forged_signature_or_a_stale_request_changes_nothing(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    ana = crm.user(slack_user_id="UANA")
    task = crm.task(ana)
    session.commit()
    payload = block_action(
        user_id="UANA", action_id=ids.TASK_COMPLETE, value=str(task.id), block_id="b", blocks=[]
    )

    stale = send(running_app, payload, timestamp=int(time.time()) - 301)
    forged = send(running_app, payload, secret="not-the-secret")

    assert (stale.status, forged.status) == (401, 401)
    saved = _reloaded(session, task.id)
    assert saved is not None and saved.status is TaskStatus.NOT_STARTED
    assert running_app.slack.calls == []


def test_simultaneous_clicks_complete_once(
    running_app: RunningApp, session: Session, crm: CRM, now: datetime
) -> None:
    ana = crm.user(slack_user_id="UANA")
    task = crm.task(ana, subject="Call Acme")
    session.commit()
    payload = block_action(
        user_id="UANA",
        action_id=ids.TASK_COMPLETE,
        value=str(task.id),
        block_id=f"task:{task.id}",
        blocks=_row(task),
        response_url=running_app.slack.response_url("msg"),
    )
    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(send(running_app, payload, settle=False)))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    running_app.settle()

    assert [a.status for a in answers] == [200] * 5
    texts = [str(c.params["blocks"]) for c in running_app.slack.wait_for("chat.update", 5)]
    assert sum("Create a follow-up task?" in t for t in texts) == 1
    assert sum("already completed by you at 15:30" in t for t in texts) == 4
    saved = _reloaded(session, task.id)
    assert saved is not None and saved.completed_at == now


def _ephemeral_click(running_app: RunningApp, task: Activity) -> dict[str, Any]:
    """A click in a /sales answer, as Slack sends it: ``is_ephemeral`` and no ``message``."""
    payload = block_action(
        user_id="UANA",
        action_id=ids.TASK_COMPLETE,
        value=str(task.id),
        block_id=f"task:{task.id}",
        response_url=running_app.slack.response_url("sales"),
    )
    payload["container"] = {"type": "message", "is_ephemeral": True, "message_ts": "1.2"}
    del payload["message"]
    return payload


def test_a_click_in_an_ephemeral_answer_keeps_the_answer_whole(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    ana = crm.user(slack_user_id="UANA")
    task = crm.task(ana, subject="Call Acme")
    session.commit()

    send(running_app, _ephemeral_click(running_app, task))

    [update] = running_app.slack.wait_for("response_url")
    # Slack sent no copy of the answer: it is not replaced by one line, the result goes
    # under it (through the response_url; chat.update cannot reach an ephemeral message).
    assert update.params["replace_original"] is False
    assert update.params["response_type"] == "ephemeral"
    assert "Create a follow-up task?" in str(update.params["blocks"])
    assert running_app.slack.calls_to("chat.update") == []
    saved = _reloaded(session, task.id)
    assert saved is not None and saved.completed_at is not None


def test_an_ephemeral_message_with_its_copy_is_replaced_through_its_response_url(
    running_app: RunningApp, session: Session, crm: CRM
) -> None:
    ana = crm.user(slack_user_id="UANA")
    task = crm.task(ana, subject="Call Acme")
    session.commit()
    payload = _ephemeral_click(running_app, task)
    payload["message"] = {"ts": "1.2", "blocks": _row(task), "text": "x"}

    send(running_app, payload)

    [update] = running_app.slack.wait_for("response_url")
    assert update.params["replace_original"] is True
    blocks = str(update.params["blocks"])
    assert "Call Acme" in blocks and "Create a follow-up task?" in blocks
    assert running_app.slack.calls_to("chat.update") == []
