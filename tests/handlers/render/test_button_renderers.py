"""The button renderers stay inside Block Kit's limits, also with extreme CRM data."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from handlers.render.deal_modals import deal_create_modal, deal_update_modal
from handlers.render.kit import block_problems, section
from handlers.render.outcome_modals import call_outcome_modal, meeting_outcome_modal
from handlers.render.results import follow_up_prompt, replace_block, result_line
from handlers.render.task_modals import (
    create_task_modal,
    edit_task_modal,
    parse_task_form,
    pick_date_modal,
    reassign_modal,
    task_controls,
    task_queue_view,
)
from rules.deals.ops import all_deal_stages, deal_stages
from rules.op_result import already
from tests.builders import CRM

LONG = "Ж" * 5000


def test_every_modal_respects_the_limits_with_huge_text(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    task = crm.task(rep, subject="S" * 500, body=LONG)
    meeting = crm.meeting(rep, subject="M" * 500)
    call = crm.call(rep, subject="C" * 500, outcome="A portal's own label")
    deal = crm.deal(rep, name="D" * 300, next_step=LONG)
    zone = ZoneInfo("Asia/Kolkata")
    origin = {"kind": "message", "url": "https://hooks.slack.com/actions/T/1/" + "x" * 200}

    views = [
        edit_task_modal(task, zone, origin=origin),
        reassign_modal(task, origin=origin),
        pick_date_modal(task, date(2026, 3, 11), origin=origin),
        create_task_modal(default_due=now, follow_up_of=task, origin=origin),
        meeting_outcome_modal(meeting, origin=origin),
        call_outcome_modal(call, origin=origin),
        deal_update_modal(deal, deal_stages(session, deal), origin=origin),
        deal_create_modal(all_deal_stages(session), origin=origin),
        task_queue_view(
            task,
            bucket="today",
            position=3,
            total=9,
            done=list(range(1, 500)),
            skipped=list(range(1000, 1500)),
            zone=zone,
            today=date(2026, 3, 11),
            notice=LONG,
        ),
    ]
    for view in views:
        assert block_problems(view["blocks"], surface="modal") == [], view["callback_id"]
        assert len(view["title"]["text"]) <= 24
        assert len(view["private_metadata"]) <= 3000
        for block in view["blocks"]:
            initial = (block.get("element") or {}).get("initial_value", "")
            assert len(initial) <= (block.get("element") or {}).get("max_length", 3000)


def test_the_edit_form_shows_and_reads_local_times(
    session: Session, crm: CRM, now: datetime
) -> None:
    task = crm.task(crm.user(), due_at=now + timedelta(days=1))  # 15:30 UTC = 21:00 Kolkata
    view = edit_task_modal(task, ZoneInfo("Asia/Kolkata"), origin={})
    fields = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert (fields["due_date"]["initial_date"], fields["due_time"]["initial_time"]) == (
        "2026-03-12",
        "21:00",
    )
    state = {
        "values": {
            "due_date": {"due_date": {"selected_date": "2026-03-12"}},
            "due_time": {"due_time": {"selected_time": "21:00"}},
        }
    }
    assert parse_task_form(state, ZoneInfo("Asia/Kolkata")).due_at == task.due_at


def test_junk_form_state_reads_as_missing() -> None:
    state = {
        "values": {
            "due_date": {"due_date": {"selected_date": "not-a-date"}},
            "due_time": {"due_time": {"selected_time": 7}},
            "subject": "junk",
        }
    }
    form = parse_task_form(state, ZoneInfo("UTC"))
    assert (form.subject, form.due_at, form.priority) == (None, None, None)


def test_a_result_replaces_the_row_without_overflowing_a_full_message() -> None:
    message = [section(f"line {i}", block_id=f"b{i}") for i in range(49)]
    message.append(task_controls(7, "Call Acme"))
    assert block_problems(message, surface="message") == []

    prompt = follow_up_prompt(7, "Done: 'Call Acme' completed.", block_id="task:7")
    updated = replace_block(message, "task:7", prompt)

    assert len(updated) == 50
    assert updated[:49] == message[:49]
    assert updated[-1]["elements"][0]["text"]["text"] == "Create task"
    assert block_problems(updated, surface="message") == []

    line = result_line(already("'Call Acme' was already completed by Dana at 9:14."))
    assert replace_block(message, "task:7", [line])[-1] == line
