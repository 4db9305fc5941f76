"""Requests through the real HTTP endpoint: signatures, junk, retries, identity."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.app import work_pool
from handlers.slack import ids
from storage.models import SlackReceipt, User
from tests.builders import CRM
from tests.support.app import BOT_TOKEN, SIGNING_SECRET, RunningApp, start_app
from tests.support.signing import interaction_body, slash_command_body
from tests.support.slack_api import SlackStandIn


def _receipts(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(SlackReceipt)) or 0


def test_a_forged_signature_is_refused_and_changes_nothing(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    answer = running_app.open_home("UDANA", secret="not-the-signing-secret")
    assert answer.status == 401
    assert running_app.slack.calls == []
    assert _receipts(session) == 0


def test_a_request_older_than_five_minutes_is_refused(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    answer = running_app.slash("tasks", user_id="UDANA", timestamp=int(time.time()) - 301)
    assert answer.status == 401
    assert running_app.slack.calls == []


def test_unsigned_request_is_refused(running_app: RunningApp) -> None:
    body = slash_command_body(
        "/sales", "", user_id="UDANA", response_url=running_app.slack.response_url()
    )
    answer = running_app.request(
        "POST", "/slack/events", body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status == 401
    assert running_app.slack.calls == []


@pytest.mark.parametrize(
    "body",
    [
        "payload=%7Bnot-json",
        "payload=%5B%5D",
        interaction_body({"type": "block_actions", "actions": "junk"}),
        "",
    ],
)
def test_junk_payloads_are_refused_and_change_nothing(
    running_app: RunningApp, crm: CRM, session: Session, body: str
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    answer = running_app.post_signed(body)
    assert answer.status >= 400
    assert [c for c in running_app.slack.calls if c.method != "auth.test"] == []
    assert _receipts(session) == 0


def test_a_tampered_navigation_value_publishes_nothing(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    for value in ["deals:1::'; DROP TABLE users", "nowhere:1::", "deals:0::", "x" * 5000]:
        answer = running_app.block_action(
            user_id="UDANA", action_id=f"{ids.HOME_NAV}:deals", value=value
        )
        assert answer.status == 200  # acknowledged, then refused
    assert running_app.slack.calls_to("views.publish") == []


def test_health_reports_the_database(running_app: RunningApp) -> None:
    answer = running_app.request("GET", "/health")
    assert answer.status == 200
    assert answer.json() == {"status": "ok"}


def test_health_says_unavailable_when_the_database_is_gone(running_app: RunningApp) -> None:
    from storage.db import make_engine

    # A database that does not answer: nothing listens on port 1.
    running_app.services.sessions.configure(
        bind=make_engine(
            "postgresql://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
        )
    )
    answer = running_app.request("GET", "/health")
    assert answer.status == 503
    assert answer.json() == {"status": "unavailable"}


def test_an_event_retry_is_applied_once(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    first = running_app.open_home("UDANA", event_id="EvSame")
    retry = running_app.open_home("UDANA", event_id="EvSame", retry_num=1)
    assert first.status == retry.status == 200
    assert len(running_app.slack.calls_to("views.publish")) == 1
    assert _receipts(session) == 1
    running_app.open_home("UDANA", event_id="EvOther")
    assert len(running_app.slack.calls_to("views.publish")) == 2


def test_an_unmapped_user_is_told_what_to_ask_their_admin(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(email="dana@seller.example")
    session.commit()
    running_app.slash("tasks", user_id="USTRANGER")
    (answer,) = running_app.responses()
    assert "ask your salesbot admin" in answer["text"]
    assert "salesbot users map --slack USTRANGER" in answer["text"]
    assert "Traceback" not in answer["text"]


def test_a_user_is_found_by_slack_email_and_remembered(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    dana = crm.user(name="Dana", email="Dana@Seller.example")
    session.commit()
    running_app.slack.add_user("UDANA", email="dana@seller.example")
    running_app.open_home("UDANA", event_id="Ev1")
    home = running_app.published_home("UDANA")
    assert "Overview" in str(home["blocks"][0])
    session.expire_all()
    assert session.get_one(User, dana.id).slack_user_id == "UDANA"
    # Remembered, and cached: the next request asks Slack nothing.
    running_app.slack.clear()
    running_app.open_home("UDANA", event_id="Ev2")
    assert running_app.slack.calls_to("users.info") == []


def test_a_deactivated_user_gets_the_explanation_not_their_data(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UGONE", is_active=False)
    session.commit()
    running_app.open_home("UGONE")
    blocks = running_app.published_home("UGONE")["blocks"]
    assert "couldn't find your CRM account" in str(blocks)


def test_a_dm_gets_help_and_the_bots_own_messages_are_ignored(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    dm = {"type": "message", "channel_type": "im", "channel": "DDANA", "user": "UDANA"}
    running_app.event({**dm, "text": "hello?", "ts": "1.1"}, event_id="EvDm1")
    (sent,) = running_app.slack.calls_to("chat.postMessage")
    assert sent.params["channel"] == "DDANA"
    assert "/sales tasks" in sent.params["text"]
    running_app.event(
        {**dm, "text": "Here is what I can do", "bot_id": "BSTANDIN", "ts": "1.2"},
        event_id="EvDm2",
    )
    assert len(running_app.slack.calls_to("chat.postMessage")) == 1


def test_tokens_and_secrets_never_reach_the_logs(
    running_app: RunningApp, crm: CRM, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    running_app.slack.fail("views.publish", "internal_error", times=None)
    with caplog.at_level(logging.DEBUG):
        running_app.open_home("UDANA")
        running_app.slash("help", user_id="UDANA")
        running_app.slash("tasks", user_id="UDANA", secret="forged")
    logged = "\n".join(r.getMessage() + (r.exc_text or "") + str(r.args) for r in caplog.records)
    assert "views.publish" in logged or "internal_error" in logged  # the failure was logged
    assert BOT_TOKEN not in logged
    assert SIGNING_SECRET not in logged


def test_a_failure_after_the_ack_is_told_plainly(
    running_app: RunningApp, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    running_app.slack.fail("views.publish", "internal_error")
    running_app.block_action(user_id="UDANA", action_id=f"{ids.HOME_NAV}:tasks", value="tasks:1::")
    (apology,) = running_app.slack.calls_to("chat.postMessage")
    assert apology.params["channel"] == "UDANA"
    assert "something went wrong" in apology.params["text"]
    assert "Traceback" not in apology.params["text"]


def test_slow_work_never_holds_up_acknowledgements(
    sqlite_engine: Engine, slack: SlackStandIn, crm: CRM, session: Session, now: datetime
) -> None:
    """With every worker stuck on Slack, new clicks are still acknowledged at once."""
    clicks = 12
    for n in range(clicks):
        crm.user(slack_user_id=f"U{n:04d}")
    session.commit()
    gate = threading.Event()

    def stuck_publish(params: dict[str, Any]) -> dict[str, Any]:
        gate.wait(timeout=30)
        return {"view": {"id": "V1"}}

    slack.respond("views.publish", stuck_publish)
    with start_app(sqlite_engine, slack, clock=lambda: now, worker_threads=2) as app:
        with ThreadPoolExecutor(clicks) as pool:
            answers = list(
                pool.map(
                    lambda n: app.block_action(
                        user_id=f"U{n:04d}",
                        action_id=f"{ids.HOME_NAV}:tasks",
                        value="tasks:1::",
                        settle=False,
                    ),
                    range(clicks),
                )
            )
        # Every click was acknowledged while both workers were still blocked on Slack.
        assert [a.status for a in answers] == [200] * clicks
        assert not work_pool(app.app).wait_idle(timeout=0)
        gate.set()
        app.settle()
        assert len(slack.calls_to("views.publish")) == clicks


def test_the_latest_click_wins_the_home_tab(
    sqlite_engine: Engine, slack: SlackStandIn, crm: CRM, session: Session, now: datetime
) -> None:
    """Clicks queued behind a slow publish are not rendered; the last one is shown."""
    crm.user(slack_user_id="UDANA")
    session.commit()
    gate = threading.Event()

    def slow_publish(params: dict[str, Any]) -> dict[str, Any]:
        gate.wait(timeout=30)
        return {"view": {"id": "V1"}}

    slack.respond("views.publish", slow_publish)
    with start_app(sqlite_engine, slack, clock=lambda: now) as app:
        app.block_action(
            user_id="UDANA", action_id=f"{ids.HOME_NAV}:tasks", value="tasks:1::", settle=False
        )
        slack.wait_for("views.publish")  # the first publish is now stuck at Slack
        for view in ["deals", "leads", "feed", "schedule"]:
            app.block_action(
                user_id="UDANA",
                action_id=f"{ids.HOME_NAV}:{view}",
                value=f"{view}:1::",
                settle=False,
            )
        gate.set()
        app.settle()
    published = [c.json_param("view")["private_metadata"] for c in slack.calls_to("views.publish")]
    assert published[0] == "tasks:1::"
    assert published[-1] == "schedule:1::"
    assert len(published) < 5  # the clicks in between were superseded, not rendered


# Issue 11: the Slack edge and operations --------------------------------------------------

CUSTOMER_TEXT = "Acme-Confidential-Renewal"


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ("payload=%7Bnot json", {}),
        ("[1, 2, 3]", {"Content-Type": "application/json"}),
        ("\udcff".encode("utf-8", "surrogatepass").decode("latin-1"), {}),
        ("command=/sales", {"X-Slack-Request-Timestamp": "garbled", "X-Slack-Signature": "v0=1"}),
        ("command=/sales", {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0"}),
    ],
)
def test_unsigned_junk_gets_401_without_a_traceback(
    running_app: RunningApp, caplog: pytest.LogCaptureFixture, body: str, headers: dict[str, str]
) -> None:
    with caplog.at_level(logging.DEBUG):
        answer = running_app.request(
            "POST",
            "/slack/events",
            body,
            {"Content-Type": "application/x-www-form-urlencoded", **headers},
        )
    assert answer.status == 401
    assert _tracebacks(caplog) == []
    assert running_app.slack.calls == []


@pytest.mark.parametrize(
    "body",
    [
        "payload=%7Bnot-json",
        "payload=%5B%5D",
        interaction_body({"type": "block_actions", "user": {"id": "UDANA"}, "actions": [{}]}),
        interaction_body({"type": "block_actions", "user": "UDANA", "actions": []}),
    ],
)
def test_a_signed_but_malformed_request_gets_400_and_one_log_line(
    running_app: RunningApp, caplog: pytest.LogCaptureFixture, body: str
) -> None:
    with caplog.at_level(logging.INFO):
        answer = running_app.post_signed(body)
    assert answer.status == 400
    assert _tracebacks(caplog) == []
    ours = [r for r in caplog.records if not r.name.startswith("waitress")]
    assert [r.levelname for r in ours] == ["WARNING"]


@pytest.mark.parametrize(
    "body",
    [
        '{"type": "event_callback", "event": 5}',
        '{"type": "event_callback", "event": {"user": "UDANA"}}',
        '{"type": "event_callback"}',
    ],
)
def test_a_signed_event_callback_without_an_event_object_gets_400(
    running_app: RunningApp, caplog: pytest.LogCaptureFixture, body: str
) -> None:
    with caplog.at_level(logging.INFO):
        answer = running_app.post_signed(body, content_type="application/json")
    assert answer.status == 400
    assert _tracebacks(caplog) == []
    assert running_app.slack.calls == []


def test_an_event_retry_during_the_original_still_publishes_the_home_tab(
    sqlite_engine: Engine, slack: SlackStandIn, crm: CRM, session: Session, now: datetime
) -> None:
    """The retry must neither take the original's Home tab ticket nor be worked on."""
    crm.user(slack_user_id="UDANA")
    crm.user(slack_user_id="UBUSY")
    session.commit()
    gate = threading.Event()

    def held_for_busy(params: dict[str, Any]) -> dict[str, Any]:
        if params.get("user_id") == "UBUSY":
            gate.wait(timeout=30)
        return {"view": {"id": "V1"}}

    slack.respond("views.publish", held_for_busy)
    with start_app(sqlite_engine, slack, clock=lambda: now, worker_threads=1) as app:
        app.open_home("UBUSY", event_id="EvBusy", settle=False)  # holds the only worker
        slack.wait_for("views.publish")
        first = app.open_home("UDANA", event_id="EvOnce", settle=False)
        retry = app.open_home("UDANA", event_id="EvOnce", retry_num=1, settle=False)
        gate.set()
        app.settle()
    assert first.status == retry.status == 200
    published = [c for c in slack.calls_to("views.publish") if c.params["user_id"] == "UDANA"]
    assert len(published) == 1


def test_a_database_outage_is_logged_once_and_home_tabs_are_published_when_it_ends(
    running_app: RunningApp, crm: CRM, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    from storage.db import make_engine

    crm.user(slack_user_id="UDANA")
    crm.user(slack_user_id="UEVE")
    session.commit()
    sessions = running_app.services.sessions
    working = sessions.kw["bind"]
    dead = make_engine("postgresql://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
    with caplog.at_level(logging.INFO):
        sessions.configure(bind=dead)
        for n, user in enumerate(["UDANA", "UEVE", "UDANA"]):
            running_app.open_home(user, event_id=f"EvDown{n}")
        assert running_app.request("GET", "/health").status == 503
        assert "salesbot_database_up 0.0" in running_app.request("GET", "/metrics").body
        assert running_app.slack.calls_to("views.publish") == []
        sessions.configure(bind=working)
        running_app.slack.wait_for("views.publish", count=2)
    published = {c.params["user_id"] for c in running_app.slack.calls_to("views.publish")}
    assert published == {"UDANA", "UEVE"}
    assert _tracebacks(caplog) == []
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if m.startswith("database unavailable")]) == 1
    assert len([m for m in messages if m == "database available again"]) == 1
    failed = [r for r in caplog.records if "database unavailable (" in r.getMessage()]
    assert len(failed) == 3  # one warning per failed request


def test_no_customer_data_reaches_the_logs_at_info(
    running_app: RunningApp, crm: CRM, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    click = {
        "type": "block_actions",
        "user": {"id": "UDANA"},
        "actions": [{"action_id": "no_such_action", "value": CUSTOMER_TEXT}],
    }
    with caplog.at_level(logging.INFO):
        running_app.slash(f"deal {CUSTOMER_TEXT}", user_id="UDANA", secret="forged")
        running_app.post_signed(interaction_body(click))
        running_app.post_signed(f"payload={CUSTOMER_TEXT}")
        running_app.event({"type": "unknown_event", "text": CUSTOMER_TEXT}, event_id="EvX")
    logged = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    assert CUSTOMER_TEXT not in logged
