"""A click answered "Saving to HubSpot…" is updated when its write settles (issue #10,
"the user sees the truth"): signed clicks on the real endpoint, the Slack Web API stand-in,
the HubSpot stand-in, and the outbox worker run by hand so the click answers first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.writeback import OutboxWorker
from connectors.hubspot import RateLimiter, Syncer
from connectors.hubspot.account import check_portal
from connectors.hubspot.write_api import WritingClient
from connectors.hubspot.writeback import OutboxSender
from handlers.render.kit import section
from handlers.render.task_modals import task_controls
from handlers.slack import ids
from handlers.slack.crm_replies import answer_late
from storage.models import Activity, Deal, OutboxState, OutboxWrite, TaskStatus, User
from storage.outbox import DueReply, enable_outbox
from tests.connectors.hubspot.conftest import SmallPortal
from tests.handlers.payloads import acked, block_action, send, view_submission
from tests.support.app import HttpAnswer, RunningApp, start_app
from tests.support.hubspot import HubSpotStandIn
from tests.support.slack_api import Call, SlackStandIn


@pytest.fixture(autouse=True)
def answer_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The click does not wait for HubSpot: it answers "Saving to HubSpot…"."""
    monkeypatch.setattr("handlers.slack.listeners._CRM_WAIT_SECONDS", 0.0)


@pytest.fixture
def app_and_worker(
    sqlite_engine: Engine,
    slack: SlackStandIn,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    now: datetime,
) -> Iterator[tuple[RunningApp, OutboxWorker]]:
    """The app with its outbox on; the worker wired as ``serve`` wires it, but not started
    (the test runs it once the click has answered)."""
    writer = WritingClient(token=hubspot.token, api_url=hubspot.base_url, limiter=RateLimiter())
    check_portal(sqlite_engine, writer, now=datetime.now(UTC))  # as `hubspot sync`
    Syncer(sqlite_engine, writer).run(full=True)
    with Session(sqlite_engine) as session:
        dana = session.scalars(select(User).where(User.external_id == small_portal.dana)).one()
        dana.slack_user_id = "UDANA"
        session.commit()
    published: list[str] = []
    with start_app(sqlite_engine, slack, clock=lambda: now) as app:

        def reply(due: DueReply) -> None:
            answer_late(app.services, app.app.client, due, default_language="en")

        sender = OutboxSender(sqlite_engine, writer, holder="test", clock=lambda: now)
        worker = OutboxWorker(
            sqlite_engine,
            sender,
            tell=lambda *_: None,
            publish=published.extend,
            clock=lambda: now,
            reply=reply,
        )
        worker.published = published  # type: ignore[attr-defined]
        enable_outbox(app.services.sessions, crm_name="HubSpot", wake=worker.wake)
        yield app, worker


def _task(engine: Engine, external_id: str) -> Activity:
    with Session(engine) as session:
        return session.scalars(select(Activity).where(Activity.external_id == external_id)).one()


def _click_complete(app: RunningApp, task: Activity) -> None:
    blocks: list[dict[str, Any]] = [
        section(f"*{task.subject}*", block_id=f"row:{task.id}"),
        task_controls(task.id, task.subject),
    ]
    send(
        app,
        block_action(
            user_id="UDANA",
            action_id=ids.TASK_COMPLETE,
            value=str(task.id),
            block_id=blocks[-1]["block_id"],
            blocks=blocks,
            response_url=app.slack.response_url("msg"),
        ),
    )


def _text(call: Call) -> str:
    return str(call.json_param("blocks"))


def _action_ids(call: Call) -> list[str]:
    return [
        str(element.get("action_id"))
        for block in call.json_param("blocks")
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def test_saving_becomes_saved_when_the_worker_sends_it(
    app_and_worker: tuple[RunningApp, OutboxWorker],
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
) -> None:
    app, worker = app_and_worker
    _click_complete(app, _task(sqlite_engine, small_portal.task))
    [saving] = app.slack.wait_for("chat.update")
    assert "Saving to HubSpot…" in _text(saving)

    worker.run_once()

    [_first, saved] = app.slack.wait_for("chat.update", count=2)
    assert saved.params["channel"] == "D0TEST" and saved.params["ts"] == "1700000000.000100"
    text = _text(saved)
    assert "Done: 'Send the proposal' completed. Saved in HubSpot." in text
    assert "Saving" not in text
    # The rest of the message stays: the task's row, and what the click offered.
    assert "*Send the proposal*" in text
    assert ids.TASK_REOPEN in _action_ids(saved)
    assert hubspot.portal.get("tasks", small_portal.task).properties["hs_task_status"] == (
        "COMPLETED"
    )
    assert worker.published == ["UDANA"]  # type: ignore[attr-defined]
    # Answered once: another pass updates nothing.
    worker.run_once()
    assert len(app.slack.calls_to("chat.update")) == 2


def test_a_late_answers_notification_shows_crm_text_as_written(
    app_and_worker: tuple[RunningApp, OutboxWorker],
    sqlite_engine: Engine,
    small_portal: SmallPortal,
) -> None:
    app, worker = app_and_worker
    with Session(sqlite_engine) as session:
        task = session.scalars(
            select(Activity).where(Activity.external_id == small_portal.task)
        ).one()
        task.subject = "*Q4* _plan_ & <!channel>"
        session.commit()
    _click_complete(app, _task(sqlite_engine, small_portal.task))
    app.slack.wait_for("chat.update")

    worker.run_once()

    [_first, saved] = app.slack.wait_for("chat.update", count=2)
    notification = str(saved.params["text"])
    assert "Saved in HubSpot." in notification
    # The subject's markers do not format the notification, and it pings nobody.
    assert "\u2217Q4\u2217 \u02cdplan\u02cd &amp; &lt;!channel&gt;" in notification
    assert "*Q4*" not in notification and "<!channel>" not in notification


def test_saving_becomes_not_saved_with_retry_and_no_follow_up_prompt(
    app_and_worker: tuple[RunningApp, OutboxWorker],
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
) -> None:
    app, worker = app_and_worker
    _click_complete(app, _task(sqlite_engine, small_portal.task))
    [saving] = app.slack.wait_for("chat.update")
    assert ids.FOLLOW_UP_CREATE in _action_ids(saving)  # offered while it is on its way

    hubspot.revoke_scope("crm.objects.contacts.write")  # tasks need it
    worker.run_once()

    [_first, failed] = app.slack.wait_for("chat.update", count=2)
    text = _text(failed)
    assert "Not saved in HubSpot: salesbot's HubSpot app may not make this change" in text
    assert "Saving" not in text and "Saved in HubSpot" not in text
    # Neither the follow-up prompt nor Reopen: the task is open again, here and there.
    assert ids.FOLLOW_UP_CREATE not in _action_ids(failed)
    assert ids.TASK_REOPEN not in _action_ids(failed)
    with Session(sqlite_engine) as session:
        row = session.scalars(select(OutboxWrite)).one()
        assert row.state is OutboxState.FAILED
        retry = [
            e
            for b in failed.json_param("blocks")
            if b.get("type") == "actions"
            for e in b["elements"]
        ]
        assert [(e["action_id"], e["value"]) for e in retry] == [(ids.CRM_WRITE_RETRY, str(row.id))]
    assert _task(sqlite_engine, small_portal.task).status is TaskStatus.NOT_STARTED


def test_an_ephemeral_answer_is_followed_through_its_response_url(
    app_and_worker: tuple[RunningApp, OutboxWorker],
    sqlite_engine: Engine,
    small_portal: SmallPortal,
) -> None:
    app, worker = app_and_worker
    task = _task(sqlite_engine, small_portal.task)
    payload = block_action(
        user_id="UDANA",
        action_id=ids.TASK_COMPLETE,
        value=str(task.id),
        block_id=task_controls(task.id, task.subject)["block_id"],
        response_url=app.slack.response_url("eph"),
    )
    # An ephemeral message: Slack sends no copy of it, only its response_url.
    payload["container"]["is_ephemeral"] = True
    payload.pop("message")
    send(app, payload)
    [saving] = app.slack.wait_for("response_url")
    assert "Saving to HubSpot…" in str(saving.params["blocks"])

    worker.run_once()

    [_first, saved] = app.slack.wait_for("response_url", count=2)
    assert "Saved in HubSpot." in str(saved.params["blocks"])
    assert saved.params["replace_original"] is False
    assert app.slack.calls_to("chat.update") == []


def test_a_refusal_known_before_the_answer_offers_retry_not_the_follow_up_prompt(
    app_and_worker: tuple[RunningApp, OutboxWorker],
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("handlers.slack.listeners._CRM_WAIT_SECONDS", 30.0)
    app, worker = app_and_worker
    hubspot.revoke_scope("crm.objects.contacts.write")
    worker.start()
    try:
        _click_complete(app, _task(sqlite_engine, small_portal.task))
        [answer] = app.slack.wait_for("chat.update")
    finally:
        worker.stop()
    assert "Not saved in HubSpot" in _text(answer)
    assert ids.FOLLOW_UP_CREATE not in _action_ids(answer)
    assert ids.TASK_REOPEN not in _action_ids(answer)
    assert _action_ids(answer) == [ids.CRM_WRITE_RETRY]


def test_dismiss_on_the_home_tab_takes_the_failure_off_it(
    app_and_worker: tuple[RunningApp, OutboxWorker],
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
) -> None:
    app, worker = app_and_worker
    hubspot.portal.archive("tasks", small_portal.task)
    _click_complete(app, _task(sqlite_engine, small_portal.task))
    app.slack.wait_for("chat.update")
    worker.run_once()
    app.open_home("UDANA")
    home = app.published_home("UDANA")
    assert "the record was deleted in HubSpot" in str(home["blocks"])
    [notice_buttons] = [
        b for b in home["blocks"] if str(b.get("block_id", "")).startswith("crm_write:")
    ]
    [dismiss] = notice_buttons["elements"]
    assert dismiss["action_id"] == ids.CRM_WRITE_DISMISS
    published = len(app.slack.calls_to("views.publish"))

    send(
        app,
        block_action(
            user_id="UDANA",
            action_id=ids.CRM_WRITE_DISMISS,
            value=dismiss["value"],
            block_id=notice_buttons["block_id"],
            container="view",
            view={**home, "type": "home", "id": "VHOME"},
        ),
    )

    app.slack.wait_for("views.publish", count=published + 1)
    after = app.published_home("UDANA")
    assert "the record was deleted in HubSpot" not in str(after["blocks"])
    assert "that notice is gone from your Home tab" in str(after["blocks"])


def test_a_forms_result_says_saved_once_the_worker_sends_it(
    app_and_worker: tuple[RunningApp, OutboxWorker],
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
) -> None:
    app, worker = app_and_worker
    answer = _submit_deal_form(app, sqlite_engine, small_portal)
    assert "Saving to HubSpot…" in str(acked(answer)["view"])

    worker.run_once()

    [update] = app.slack.wait_for("views.update")
    assert update.params["view_id"] == "V0SUBMIT"
    assert "Saved in HubSpot." in str(update.json_param("view")["blocks"])
    assert hubspot.portal.get("deals", small_portal.deal).properties["hs_next_step"] == "Kick-off"


def _submit_deal_form(app: RunningApp, engine: Engine, portal: SmallPortal) -> HttpAnswer:
    """Dana opens the deal's form from a message and submits a new next step; the
    submission's answer."""
    with Session(engine) as session:
        deal = session.scalars(select(Deal).where(Deal.external_id == portal.deal)).one()
    send(
        app,
        block_action(
            user_id="UDANA",
            action_id=ids.DEAL_UPDATE,
            value=str(deal.id),
            block_id="row",
            blocks=[section("x", block_id="row")],
            response_url=app.slack.response_url("msg"),
        ),
    )
    form = app.slack.wait_for("views.open")[0].json_param("view")
    stage = {
        "stage": {
            "stage": {"type": "static_select", "selected_option": {"value": str(deal.stage_id)}}
        }
    }
    step = {"next_step": {"next_step": {"type": "plain_text_input", "value": "Kick-off"}}}
    return send(app, view_submission(user_id="UDANA", view=form, values={**stage, **step}))


def _edit_deal_from_a_message(app: RunningApp, engine: Engine, portal: SmallPortal) -> None:
    """Dana edits the deal through its form, opened from a message; the form's result and
    its line under that message say "Saving to HubSpot…"."""
    _submit_deal_form(app, engine, portal)
    [line] = app.slack.wait_for("response_url")
    assert "Saving to HubSpot…" in str(line.params)


def test_a_forms_line_under_its_message_says_saved_once_the_worker_sends_it(
    app_and_worker: tuple[RunningApp, OutboxWorker],
    sqlite_engine: Engine,
    small_portal: SmallPortal,
) -> None:
    app, worker = app_and_worker
    _edit_deal_from_a_message(app, sqlite_engine, small_portal)

    worker.run_once()

    # An ephemeral line can't be edited: the answer comes as a line of its own under it,
    # and the message the form came from stays as it was.
    [_saving, saved] = app.slack.wait_for("response_url", count=2)
    assert "Saved in HubSpot." in str(saved.params["blocks"])
    assert "Saving" not in str(saved.params["blocks"])
    assert saved.params["replace_original"] is False
    assert saved.params["response_type"] == "ephemeral"
    # The result modal is updated too, by the same answer.
    [update] = app.slack.wait_for("views.update")
    assert "Saved in HubSpot." in str(update.json_param("view")["blocks"])
    worker.run_once()
    assert len(app.slack.calls_to("response_url")) == 2


def test_a_forms_line_says_not_saved_with_retry_and_a_closed_result_modal_is_quiet(
    app_and_worker: tuple[RunningApp, OutboxWorker],
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, worker = app_and_worker
    _edit_deal_from_a_message(app, sqlite_engine, small_portal)
    hubspot.portal.archive("deals", small_portal.deal)
    app.slack.fail("views.update", error="not_found")  # the user closed the result modal

    worker.run_once()

    [_saving, failed] = app.slack.wait_for("response_url", count=2)
    assert "Not saved in HubSpot" in str(failed.params["blocks"])
    assert "Saving" not in str(failed.params["blocks"])
    assert not any(r.levelname == "ERROR" for r in caplog.records)


def _open_queue(app: RunningApp) -> dict[str, Any]:
    send(
        app,
        block_action(
            user_id="UDANA",
            action_id=ids.TASK_QUEUE_START,
            value="all",
            block_id="b",
            blocks=[section("x", block_id="b")],
        ),
    )
    view: dict[str, Any] = app.slack.wait_for("views.open")[0].json_param("view")
    return {**view, "id": "VQUEUE"}


def _complete_in_queue(app: RunningApp, task: Activity, view: dict[str, Any]) -> None:
    send(
        app,
        block_action(
            user_id="UDANA",
            action_id=ids.TASK_QUEUE_COMPLETE,
            value=str(task.id),
            block_id=f"queue:{task.id}",
            container="view",
            view=view,
        ),
    )


def test_the_task_queues_line_says_saved_once_the_worker_sends_it(
    app_and_worker: tuple[RunningApp, OutboxWorker],
    sqlite_engine: Engine,
    small_portal: SmallPortal,
) -> None:
    app, worker = app_and_worker
    _complete_in_queue(app, _task(sqlite_engine, small_portal.task), _open_queue(app))
    [saving] = app.slack.wait_for("views.update")
    assert "Saving to HubSpot…" in str(saving.json_param("view")["blocks"])

    worker.run_once()

    [_first, saved] = app.slack.wait_for("views.update", count=2)
    assert saved.params["view_id"] == "VQUEUE"
    assert saved.params["hash"] == "h"  # as Slack gave it: a newer view refuses this update
    view = saved.json_param("view")
    assert "Done: 'Send the proposal' completed. Saved in HubSpot." in str(view["blocks"])
    assert "Saving" not in str(view["blocks"])
    # The rest of the modal stays: what comes next in the queue, and where the queue is.
    unchanged = saving.json_param("view")
    assert view["blocks"][1:] == unchanged["blocks"][1:]
    assert view["private_metadata"] == unchanged["private_metadata"]
    assert view["callback_id"] == ids.VIEW_TASK_QUEUE


def test_the_task_queue_says_not_saved_with_retry(
    app_and_worker: tuple[RunningApp, OutboxWorker],
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
) -> None:
    app, worker = app_and_worker
    _complete_in_queue(app, _task(sqlite_engine, small_portal.task), _open_queue(app))
    app.slack.wait_for("views.update")
    hubspot.revoke_scope("crm.objects.contacts.write")

    worker.run_once()

    [_first, failed] = app.slack.wait_for("views.update", count=2)
    blocks = failed.json_param("view")["blocks"]
    assert "Not saved in HubSpot" in str(blocks) and "Saving" not in str(blocks)
    assert ids.CRM_WRITE_RETRY in str(blocks)


def test_a_task_queue_closed_or_moved_on_is_left_alone_quietly(
    app_and_worker: tuple[RunningApp, OutboxWorker],
    sqlite_engine: Engine,
    small_portal: SmallPortal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, worker = app_and_worker
    _complete_in_queue(app, _task(sqlite_engine, small_portal.task), _open_queue(app))
    app.slack.wait_for("views.update")
    app.slack.fail("views.update", error="hash_conflict")

    worker.run_once()

    assert app.slack.calls_to("views.update", ok_only=False)[-1].params["hash"] == "h"
    assert not any(r.levelname == "ERROR" for r in caplog.records)
    assert worker.published == ["UDANA"]  # type: ignore[attr-defined]
