"""Write-back seen from Slack: signed clicks on the real endpoint, with HubSpot connected."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from bot.writeback import OutboxWorker
from connectors.hubspot import RateLimiter, Syncer
from connectors.hubspot.account import check_portal
from connectors.hubspot.write_api import WritingClient
from connectors.hubspot.writeback import OutboxSender
from handlers.render.kit import section
from handlers.render.task_modals import task_controls
from handlers.slack import ids
from storage.models import Activity, OutboxWrite, TaskStatus, User
from storage.outbox import enable_outbox
from tests.connectors.hubspot.conftest import SmallPortal, serving_with_hubspot
from tests.handlers.payloads import block_action, send
from tests.support.app import RunningApp, start_app
from tests.support.hubspot import HubSpotStandIn
from tests.support.slack_api import SlackStandIn


@pytest.fixture(autouse=True)
def patient_clicks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A click waits for its write to reach HubSpot as long as it takes (1.5 s in the app:
    on a loaded test machine the sender may need longer, and the line would say Saving)."""
    monkeypatch.setattr("handlers.slack.listeners._CRM_WAIT_SECONDS", 30.0)


@pytest.fixture
def connected_app(
    sqlite_engine: Engine,
    slack: SlackStandIn,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
    now: datetime,
) -> Iterator[RunningApp]:
    """The app on a store synced from the small portal, its outbox on and worker running;
    Dana and Sam are linked to Slack (UDANA, USAM)."""
    writer = WritingClient(token=hubspot.token, api_url=hubspot.base_url, limiter=RateLimiter())
    check_portal(sqlite_engine, writer, now=datetime.now(UTC))  # as `hubspot sync`
    Syncer(sqlite_engine, writer).run(full=True)
    with Session(sqlite_engine) as session:
        for external_id, slack_id in ((small_portal.dana, "UDANA"), (small_portal.sam, "USAM")):
            user = session.scalars(select(User).where(User.external_id == external_id)).one()
            user.slack_user_id = slack_id
        session.commit()
    sender = OutboxSender(sqlite_engine, writer, holder="test", clock=lambda: now)
    worker = OutboxWorker(
        sqlite_engine, sender, tell=lambda *_: None, publish=lambda _: None, clock=lambda: now
    ).start()
    try:
        with start_app(sqlite_engine, slack, clock=lambda: now) as app:
            enable_outbox(app.services.sessions, crm_name="HubSpot", wake=worker.wake)
            yield app
    finally:
        worker.stop()


def _task(engine: Engine, external_id: str) -> Activity:
    with Session(engine) as session:
        return session.scalars(select(Activity).where(Activity.external_id == external_id)).one()


def _click_complete(app: RunningApp, user_id: str, task: Activity) -> None:
    blocks: list[dict[str, Any]] = [
        section(f"*{task.subject}*", block_id=f"row:{task.id}"),
        task_controls(task.id, task.subject),
    ]
    send(
        app,
        block_action(
            user_id=user_id,
            action_id=ids.TASK_COMPLETE,
            value=str(task.id),
            block_id=blocks[-1]["block_id"],
            blocks=blocks,
            response_url=app.slack.response_url("msg"),
        ),
    )


def test_a_click_says_saved_in_hubspot_once_hubspot_has_it(
    connected_app: RunningApp,
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
) -> None:
    _click_complete(connected_app, "UDANA", _task(sqlite_engine, small_portal.task))

    [update] = connected_app.slack.wait_for("chat.update")
    text = update.json_param("blocks")[1]["elements"][0]["text"]
    assert "Done: 'Send the proposal' completed." in text
    assert "Saved in HubSpot." in text
    task = hubspot.portal.get("tasks", small_portal.task)
    assert task.properties["hs_task_status"] == "COMPLETED"


def test_a_german_user_reads_where_the_change_stands_in_german(
    connected_app: RunningApp, sqlite_engine: Engine, small_portal: SmallPortal
) -> None:
    with Session(sqlite_engine) as session:
        session.execute(update(User).where(User.slack_user_id == "UDANA").values(slack_locale="de"))
        session.commit()
    _click_complete(connected_app, "UDANA", _task(sqlite_engine, small_portal.task))

    [changed] = connected_app.slack.wait_for("chat.update")
    text = changed.json_param("blocks")[1]["elements"][0]["text"]
    assert "In HubSpot gespeichert." in text and "Saved in HubSpot" not in text


def test_a_forged_click_writes_nothing_here_or_in_hubspot(
    connected_app: RunningApp,
    sqlite_engine: Engine,
    hubspot: HubSpotStandIn,
    small_portal: SmallPortal,
) -> None:
    hubspot.clear()

    # Sam (a rep) sends a click naming Dana's task.
    _click_complete(connected_app, "USAM", _task(sqlite_engine, small_portal.task))

    [reply] = connected_app.slack.wait_for("response_url")
    # Refused without naming the owner of a task Sam may not see (issue 11, item 5).
    assert "no longer exists or never did" in reply.params["text"]
    assert "Dana" not in reply.params["text"]
    with Session(sqlite_engine) as session:
        assert session.scalars(select(OutboxWrite)).all() == []
    assert _task(sqlite_engine, small_portal.task).status is TaskStatus.NOT_STARTED
    # Nothing written (the worker may still be reading, e.g. its start-up property check).
    assert [r for r in hubspot.requests if r.method != "GET"] == []


def test_serve_with_a_token_writes_clicks_back_to_hubspot(
    sqlite_engine: Engine, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    with serving_with_hubspot(sqlite_engine, hubspot) as (running, slack):
        deadline = time.monotonic() + 60
        while _task_or_none(sqlite_engine, small_portal.task) is None:
            assert time.monotonic() < deadline, "the first sync did not finish"
            time.sleep(0.05)
        with Session(sqlite_engine) as session:
            dana = User.external_id == small_portal.dana
            session.execute(update(User).where(dana).values(slack_user_id="UDANA"))
            session.commit()

        _click_complete(running, "UDANA", _task(sqlite_engine, small_portal.task))

        [update_call] = slack.wait_for("chat.update")
        assert "Saved in HubSpot." in str(update_call.json_param("blocks"))
    task = hubspot.portal.get("tasks", small_portal.task)
    assert task.properties["hs_task_status"] == "COMPLETED"


def _task_or_none(engine: Engine, external_id: str) -> Activity | None:
    with Session(engine) as session:
        return session.scalars(select(Activity).where(Activity.external_id == external_id)).first()
