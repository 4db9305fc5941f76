"""Fan-out against the stand-in Slack: once per digest, limits honoured, failures recorded."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from time import monotonic, sleep
from typing import Any

import pytest
from sqlalchemy import Engine, distinct, func, select
from sqlalchemy.orm import Session

from bot.digests.deliver import Outgoing, Pacer, SharedPacer
from bot.digests.schedule import DigestScheduler
from bot.jobs import TICK_GRACE_SECONDS, BackgroundJobs
from rules.digests.schedule import DueDigest, due_digests
from storage.db import session_factory
from storage.deliveries import claim
from storage.models import DeliveryStatus, DigestDelivery, DigestKind, User, UserPreferences
from tests.builders import CRM
from tests.support.digests import standin_deliverer
from tests.support.slack_api import SlackStandIn, running_standin

# Wednesday 2026-03-11, 08:00 in Berlin (CET).
BERLIN_EIGHT = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)


def _reps(crm: CRM, count: int, zone: str = "Europe/Berlin") -> list[str]:
    session = crm.session
    ids = [f"U{n:04d}" for n in range(count)]
    for slack_id in ids:
        crm.user(timezone=zone, slack_user_id=slack_id)
    session.commit()
    return ids


def _per_channel(slack: SlackStandIn) -> Counter[str]:
    return Counter(c.params["channel"] for c in slack.calls_to("chat.postMessage"))


def _statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(str(s) for s in session.scalars(select(DigestDelivery.status)))


def _scheduler(
    engine: Engine, slack: SlackStandIn, at: datetime, *, workers: int = 4, claimer: str = "test"
) -> DigestScheduler:
    deliverer = standin_deliverer(
        engine, slack.api_url, clock=lambda: at, workers=workers, claimer=claimer
    )
    return DigestScheduler(sessions=session_factory(engine), deliverer=deliverer, clock=lambda: at)


def test_each_rep_gets_one_digest_at_local_eight_and_a_later_tick_sends_nothing(
    sqlite_engine: Engine,
) -> None:
    with Session(sqlite_engine) as session:
        crm = CRM(session, BERLIN_EIGHT)
        berlin = _reps(crm, 2)
        tokyo = crm.user(timezone="Asia/Tokyo", slack_user_id="UTOKYO")
        session.add(UserPreferences(user_id=tokyo.id, digest_time=time(8, 0)))
        session.commit()
    with running_standin() as slack:
        assert (
            _scheduler(sqlite_engine, slack, BERLIN_EIGHT - timedelta(minutes=1)).tick().sent == []
        )
        report = _scheduler(sqlite_engine, slack, BERLIN_EIGHT).tick()
        assert len(report.sent) == 2
        again = _scheduler(sqlite_engine, slack, BERLIN_EIGHT + timedelta(minutes=1)).tick()
        assert again.sent == [] and again.not_claimed == []
        assert _per_channel(slack) == Counter({berlin[0]: 1, berlin[1]: 1})
        # Tokyo's 08:00 on Thursday is 23:00 UTC on Wednesday.
        tokyo_eight = datetime(2026, 3, 11, 23, 0, tzinfo=UTC)
        assert len(_scheduler(sqlite_engine, slack, tokyo_eight).tick().sent) == 1
        assert _per_channel(slack)["UTOKYO"] == 1


def test_a_restart_mid_fan_out_resumes_without_duplicates(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        reps = _reps(CRM(session, BERLIN_EIGHT), 6)
    with running_standin() as slack:
        # The first process sends to three reps, claims a fourth, and dies before sending.
        first = _scheduler(sqlite_engine, slack, BERLIN_EIGHT)
        with Session(sqlite_engine) as session:
            due = due_digests(session, now=BERLIN_EIGHT)
        first.deliverer.deliver(due[:3])
        with Session(sqlite_engine) as session:
            lost = due[3]
            assert claim(
                session,
                kind=lost.kind,
                recipient_id=lost.recipient_id,
                local_date=lost.local_date,
                due_at=lost.due_at,
                now=BERLIN_EIGHT,
                claimer="crashed",
            )
            session.commit()
        # A new process starts two minutes later: the rest go out, the crashed claim waits
        # for its lease; after it expires the fourth is sent too. Nobody gets two.
        restart = BERLIN_EIGHT + timedelta(minutes=2)
        assert len(_scheduler(sqlite_engine, slack, restart).tick().sent) == 2
        later = BERLIN_EIGHT + timedelta(minutes=7)
        assert len(_scheduler(sqlite_engine, slack, later).tick().sent) == 1
        assert _per_channel(slack) == Counter({r: 1 for r in reps})
        assert _statuses(sqlite_engine) == Counter({"sent": 6})


def test_a_429_is_retried_after_its_retry_after(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        reps = _reps(CRM(session, BERLIN_EIGHT), 2)
    with running_standin() as slack:
        # One message a second for the workspace; our pacer is told 200/s, so the second
        # send hits the limit and must wait for Retry-After.
        slack.rate_limit("chat.postMessage", per_second=1, burst=1)
        report = _scheduler(sqlite_engine, slack, BERLIN_EIGHT, workers=1).tick()
        assert len(report.sent) == 2 and report.failed == []
        assert _per_channel(slack) == Counter({r: 1 for r in reps})
        attempts = slack.calls_to("chat.postMessage", ok_only=False)
        (limited,) = [c for c in attempts if c.status == 429]
        retried = next(
            c for c in attempts if c.ok and c.params["channel"] == limited.params["channel"]
        )
        assert retried.at - limited.at >= 1.0  # Retry-After: 1


def test_a_channel_not_found_rep_is_recorded_and_the_rest_delivered(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        reps = _reps(CRM(session, BERLIN_EIGHT), 4)
    gone = reps[1]
    with running_standin() as slack:
        slack.fail(
            "chat.postMessage", "channel_not_found", times=None, when=lambda p: p["channel"] == gone
        )
        slack.fail(
            "chat.postMessage",
            "internal_error",
            times=1,
            status=500,
            when=lambda p: p["channel"] == reps[2],
        )
        report = _scheduler(sqlite_engine, slack, BERLIN_EIGHT).tick()
        assert len(report.sent) == 3
        assert [reason for _, reason in report.failed] == ["channel_not_found"]
        # Everyone else got theirs once; the gone rep was tried once, not retried.
        assert _per_channel(slack) == Counter({r: 1 for r in reps})
        with Session(sqlite_engine) as session:
            failed = session.scalars(
                select(DigestDelivery).where(DigestDelivery.status == DeliveryStatus.FAILED)
            ).one()
            assert (failed.error, failed.permanent) == ("channel_not_found", True)
        # The next tick does not try the gone rep again.
        later = _scheduler(sqlite_engine, slack, BERLIN_EIGHT + timedelta(minutes=1)).tick()
        assert later.sent == [] and later.failed == [] and later.not_claimed == []


@pytest.mark.postgres
def test_two_schedulers_at_once_on_postgres_send_each_digest_exactly_once(
    postgres_engine: Engine,
) -> None:
    with Session(postgres_engine) as session:
        crm = CRM(session, BERLIN_EIGHT)
        reps = _reps(crm, 40)
        from storage.models import Role

        team = crm.team(timezone="Europe/Berlin", digest_channel_id="CTEAM")
        crm.user(team_id=team.id, role=Role.MANAGER, slack_user_id="UMGR", timezone="Europe/Berlin")
        session.commit()
    with running_standin() as slack:
        # Each send waits until both replicas hold claims, so both are mid-fan-out together
        # however the machine schedules their threads (a fixed latency was a race).
        slack.respond("chat.postMessage", _once_both_claim(postgres_engine, 2))
        replicas = [
            _scheduler(postgres_engine, slack, BERLIN_EIGHT + timedelta(minutes=30), claimer=name)
            for name in ("replica-a", "replica-b")
        ]
        start = threading.Barrier(len(replicas))
        reports = []

        def run(scheduler: DigestScheduler) -> None:
            start.wait()
            reports.append(scheduler.tick())

        threads = [threading.Thread(target=run, args=(s,)) for s in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        per_channel = _per_channel(slack)
        assert per_channel == Counter({**{r: 1 for r in reps}, "UMGR": 1, "CTEAM": 1})
        assert sum(len(r.sent) for r in reports) == len(reps) + 2
        assert all(r.sent for r in reports), "both replicas took part"
        with Session(postgres_engine) as session:
            kinds = Counter(
                session.scalars(
                    select(DigestDelivery.kind).where(DigestDelivery.status == DeliveryStatus.SENT)
                )
            )
        assert kinds == Counter({DigestKind.REP: len(reps) + 1, DigestKind.MANAGER: 1})


def _once_both_claim(engine: Engine, replicas: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A chat.postMessage answer that waits (bounded) until ``replicas`` claimers hold rows."""
    overlapping = threading.Event()

    def answer(params: dict[str, Any]) -> dict[str, Any]:
        deadline = monotonic() + 30
        while not overlapping.is_set() and monotonic() < deadline:
            with Session(engine) as session:
                claimers = session.scalar(select(func.count(distinct(DigestDelivery.claimed_by))))
            if (claimers or 0) >= replicas:
                overlapping.set()
            else:
                sleep(0.01)
        return {"channel": params.get("channel", ""), "ts": f"{monotonic():.6f}"}

    return answer


def test_the_pacer_spaces_sends_per_workspace_and_per_channel() -> None:
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    pacer = Pacer(2.0, channel_interval=1.0, clock=lambda: clock[0], sleep=sleep)
    pacer.wait("D1")  # now
    pacer.wait("D2")  # 0.5 s later (workspace rate)
    pacer.wait("D1")  # 1.0 s after the first D1 (channel rate)
    pacer.hold(5.0)
    pacer.wait("D3")  # after the hold
    assert slept == [0.5, 1.0, 5.0]


def test_the_digest_composer_sends_blocks_and_records_the_message_ts(
    sqlite_engine: Engine,
) -> None:
    from bot.digests.compose import DigestComposer

    with Session(sqlite_engine) as session:
        crm = CRM(session, BERLIN_EIGHT)
        rep = crm.user(timezone="Europe/Berlin", slack_user_id="UANA", name="Ana")
        crm.task(rep, due_at=BERLIN_EIGHT + timedelta(hours=3), subject="Call Bo")
        quiet = crm.user(timezone="Europe/Berlin", slack_user_id="UQUIET")
        session.add(UserPreferences(user_id=quiet.id, empty_digest="skip"))
        session.commit()
        rep_id, quiet_id = rep.id, quiet.id
    with running_standin() as slack:
        scheduler = _scheduler(sqlite_engine, slack, BERLIN_EIGHT)
        scheduler.deliverer.compose = DigestComposer()
        report = scheduler.tick()
        assert (len(report.sent), len(report.skipped)) == (1, 1)
        (call,) = slack.calls_to("chat.postMessage")
        assert call.params["channel"] == "UANA"
        assert "Call Bo" in json.dumps(call.json_param("blocks"))
        assert call.json_param("metadata")["event_type"] == "salesbot_digest"
        with Session(sqlite_engine) as session:
            rows = {r.recipient_id: r for r in session.scalars(select(DigestDelivery))}
        assert rows[rep_id].message_ts and rows[rep_id].channel_id == "UANA"
        assert rows[quiet_id].status == DeliveryStatus.SKIPPED


def test_the_background_scheduler_ticks_and_delivers(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        (rep,) = _reps(CRM(session, BERLIN_EIGHT), 1)
    with running_standin() as slack:
        jobs = BackgroundJobs(_scheduler(sqlite_engine, slack, BERLIN_EIGHT))
        background = jobs.start()
        try:
            job = background.get_job("digest_tick")
            assert job is not None and job.misfire_grace_time == TICK_GRACE_SECONDS
            job.modify(next_run_time=datetime.now(UTC))  # don't wait for the minute
            (call,) = slack.wait_for("chat.postMessage", 1)
            assert call.params["channel"] == rep
        finally:
            jobs.shutdown()


def test_a_digest_missed_beyond_its_window_is_logged_not_dropped(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with Session(sqlite_engine) as session:
        _reps(CRM(session, BERLIN_EIGHT), 1)
    with running_standin() as slack:
        # Every replica was down from before 08:00 until 12:01 Berlin time.
        late = BERLIN_EIGHT + timedelta(hours=4, minutes=1)
        with caplog.at_level(logging.ERROR, logger="bot.digests.schedule"):
            report = _scheduler(sqlite_engine, slack, late).tick()
        assert report.sent == []
        assert slack.calls_to("chat.postMessage") == []
        (record,) = [r for r in caplog.records if "missed" in r.getMessage()]
        assert "2026-03-11" in record.getMessage()


def test_a_broken_composer_fails_one_digest_and_the_rest_go_out(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        reps = _reps(CRM(session, BERLIN_EIGHT), 3)
        broken_id = session.scalar(select(User.id).where(User.slack_user_id == reps[1]))
    with running_standin() as slack:
        scheduler = _scheduler(sqlite_engine, slack, BERLIN_EIGHT)
        fine = scheduler.deliverer.compose

        def sometimes_broken(session: Session, due: DueDigest, now: datetime) -> Outgoing:
            if due.recipient_id == broken_id:
                raise RuntimeError("template bug")
            return fine(session, due, now)

        scheduler.deliverer.compose = sometimes_broken
        report = scheduler.tick()
        assert len(report.sent) == 2
        assert [reason for _, reason in report.failed] == ["composition: template bug"]
        assert set(_per_channel(slack)) == {reps[0], reps[2]}
        with Session(sqlite_engine) as session:
            failed = session.scalars(
                select(DigestDelivery).where(DigestDelivery.recipient_id == broken_id)
            ).one()
        assert (failed.status, failed.permanent) == (DeliveryStatus.FAILED, False)


def test_guided_actions_are_refreshed_for_the_due_reps_before_their_digests(
    sqlite_engine: Engine,
) -> None:
    from bot.digests.compose import DigestComposer
    from bot.digests.schedule import refresh_guided_actions
    from storage.models import MeetingOutcome

    with Session(sqlite_engine) as session:
        crm = CRM(session, BERLIN_EIGHT)
        rep = crm.user(timezone="Europe/Berlin", slack_user_id="UANA")
        # Rule 6: a meeting that ended yesterday without an outcome.
        crm.meeting(
            rep, starts_at=BERLIN_EIGHT - timedelta(days=1), outcome=MeetingOutcome.SCHEDULED
        )
        session.commit()
    seen: list[list[int] | None] = []

    def refresh(session: Session, now: datetime, user_ids: list[int] | None) -> None:
        seen.append(user_ids)
        refresh_guided_actions(session, now, user_ids)

    with running_standin() as slack:
        scheduler = _scheduler(sqlite_engine, slack, BERLIN_EIGHT)
        scheduler.deliverer.compose = DigestComposer()
        scheduler.refresh_actions = refresh
        scheduler.tick()
        (call,) = slack.calls_to("chat.postMessage")
    assert len(seen) == 1 and seen[0] is not None and len(seen[0]) == 1
    assert "Log the outcome of 1 meeting" in json.dumps(call.json_param("blocks"))


@pytest.mark.parametrize(
    ("zone", "eight_am"),
    [
        ("America/Los_Angeles", datetime(2026, 3, 8, 15, 0, tzinfo=UTC)),  # spring forward
        ("America/Los_Angeles", datetime(2026, 11, 1, 16, 0, tzinfo=UTC)),  # fall back
        ("Europe/Berlin", datetime(2026, 3, 29, 6, 0, tzinfo=UTC)),
        ("Europe/Berlin", datetime(2026, 10, 25, 7, 0, tzinfo=UTC)),
        ("Asia/Tokyo", datetime(2026, 3, 8, 23, 0, tzinfo=UTC)),
    ],
)
def test_on_a_daylight_saving_day_the_dm_arrives_at_local_eight(
    sqlite_engine: Engine, zone: str, eight_am: datetime
) -> None:
    with Session(sqlite_engine) as session:
        rep = CRM(session, eight_am).user(timezone=zone, slack_user_id="UREP")
        # The switch days are Sundays: this rep wants a digest every day.
        session.add(UserPreferences(user_id=rep.id, digest_weekdays=[1, 2, 3, 4, 5, 6, 7]))
        session.commit()
    with running_standin() as slack:
        early = _scheduler(sqlite_engine, slack, eight_am - timedelta(minutes=1)).tick()
        assert early.sent == [] and slack.calls_to("chat.postMessage") == []
        on_time = _scheduler(sqlite_engine, slack, eight_am).tick()
        assert len(on_time.sent) == 1
        assert [c.params["channel"] for c in slack.calls_to("chat.postMessage")] == ["UREP"]


def test_the_scheduler_forgets_slack_receipts_older_than_a_day(sqlite_engine: Engine) -> None:
    from storage.receipts import claim_once

    at = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
    sessions = session_factory(sqlite_engine)
    with sessions() as session:
        claim_once(session, "event:old", now=at - timedelta(days=1, minutes=1))
        claim_once(session, "event:recent", now=at - timedelta(hours=23))
        session.commit()
    with running_standin() as slack:
        assert BackgroundJobs(_scheduler(sqlite_engine, slack, at)).prune_receipts() == 1
    with sessions() as session:
        # The old event would be applied again; the recent one is still remembered.
        assert claim_once(session, "event:old", now=at) is True
        assert claim_once(session, "event:recent", now=at) is False


def test_the_guided_action_tick_tells_whose_actions_changed_and_nudges(
    sqlite_engine: Engine,
) -> None:
    at = BERLIN_EIGHT
    with Session(sqlite_engine) as session:
        crm = CRM(session, at)
        rep = crm.user(slack_user_id="UREP")
        crm.meeting(rep, starts_at=at + timedelta(seconds=10))
        rep_id = rep.id
        session.commit()
    changed: list[set[int]] = []
    nudged: list[bool] = []
    with running_standin() as slack:
        jobs = BackgroundJobs(
            _scheduler(sqlite_engine, slack, at),
            on_actions_changed=changed.append,
            nudge=lambda: nudged.append(True),
        )
        first = jobs.tick_actions(at)
        assert first is not None and first.full
        later = jobs.tick_actions(at + timedelta(seconds=20))
    assert later is not None and not later.full
    # The meeting started: "follow up on your meeting" appeared for its owner.
    assert changed[-1] == {rep_id}
    assert len(nudged) == 2  # nudges are looked at on every tick


def test_a_429_holds_every_sender_for_its_retry_after(sqlite_engine: Engine) -> None:
    """Senders already waiting for a slot do not post inside the Retry-After window."""
    with Session(sqlite_engine) as session:
        _reps(CRM(session, BERLIN_EIGHT), 6)
    with running_standin() as slack:
        slack.fail("chat.postMessage", "ratelimited", status=429, times=1)  # Retry-After: 1
        scheduler = _scheduler(sqlite_engine, slack, BERLIN_EIGHT, workers=4)
        scheduler.deliverer.pacer = Pacer(5.0, channel_interval=0.0)
        report = scheduler.tick()
        assert len(report.sent) == 6 and report.failed == []
        attempts = slack.calls_to("chat.postMessage", ok_only=False)
        (limited,) = [c for c in attempts if c.status == 429]
        inside = [c for c in attempts if limited.at + 0.1 < c.at < limited.at + 0.9]
        assert inside == [], "a sender posted while Slack said wait"


@pytest.mark.postgres
def test_two_replicas_share_one_workspace_pace(postgres_engine: Engine) -> None:
    """Two replicas, each told 75% of the workspace limit: together they stay under it."""
    with Session(postgres_engine) as session:
        _reps(CRM(session, BERLIN_EIGHT), 16)
    with running_standin() as slack:
        slack.rate_limit("chat.postMessage", per_second=8, burst=2)
        replicas = [
            _scheduler(postgres_engine, slack, BERLIN_EIGHT, claimer=name, workers=2)
            for name in ("replica-a", "replica-b")
        ]
        for replica in replicas:
            # Each replica its own pacer object, as each its own process: the budget is
            # what they share, through the database.
            replica.deliverer.pacer = SharedPacer(
                session_factory(postgres_engine), 6.0, channel_interval=0.0
            )
        start = threading.Barrier(len(replicas))
        reports = []

        def run(scheduler: DigestScheduler) -> None:
            start.wait()
            reports.append(scheduler.tick())

        threads = [threading.Thread(target=run, args=(r,)) for r in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sum(len(r.sent) for r in reports) == 16
        assert all(r.sent for r in reports), "both replicas took part"
        statuses = [c.status for c in slack.calls_to("chat.postMessage", ok_only=False)]
        assert statuses.count(429) == 0, statuses


def _deliveries(engine: Engine) -> list[dict[str, Any]]:
    """What `salesbot digest status --json` prints for the test's day (Wednesday)."""
    from bot.cli.digest import delivery_json
    from storage.deliveries import deliveries_on

    with Session(engine) as session:
        return [delivery_json(row) for row in deliveries_on(session, BERLIN_EIGHT.date())]


def _ticks_every_minute(
    engine: Engine, slack: SlackStandIn, minutes: int, *, slack_down_until: datetime
) -> None:
    """The minute tick from 08:00 Berlin on, with Slack answering 503 until a moment."""
    now = [BERLIN_EIGHT]
    slack.fail(
        "chat.postMessage",
        "service_unavailable",
        status=503,
        times=None,
        when=lambda _params: now[0] < slack_down_until,
    )
    scheduler = _scheduler(engine, slack, BERLIN_EIGHT)
    scheduler.deliverer.clock = lambda: now[0]
    for minute in range(minutes):
        now[0] = BERLIN_EIGHT + timedelta(minutes=minute)
        scheduler.tick(now[0])


def test_a_few_minutes_of_slack_outage_do_not_cost_the_days_digest(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        _reps(CRM(session, BERLIN_EIGHT), 1)
    with running_standin() as slack:
        outage_end = BERLIN_EIGHT + timedelta(minutes=4)
        _ticks_every_minute(sqlite_engine, slack, 12, slack_down_until=outage_end)
        assert len(slack.calls_to("chat.postMessage")) == 1
    [row] = _deliveries(sqlite_engine)
    assert row["status"] == "sent"
    assert row["attempts"] <= 4  # spread out: 08:00, 08:01, 08:03, then 08:07


def test_a_digest_finally_given_up_is_logged_and_shown_missed(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with Session(sqlite_engine) as session:
        _reps(CRM(session, BERLIN_EIGHT), 1)
    with running_standin() as slack, caplog.at_level(logging.ERROR):
        never = BERLIN_EIGHT + timedelta(days=1)
        _ticks_every_minute(sqlite_engine, slack, 150, slack_down_until=never)
        assert slack.calls_to("chat.postMessage") == []
    [row] = _deliveries(sqlite_engine)
    assert row["status"] == "missed"
    assert row["error"].startswith("given up after 8 attempts: HTTP 503")
    given_up = [r for r in caplog.records if "given up" in r.getMessage()]
    assert [r.levelno for r in given_up] == [logging.ERROR]


def test_a_failed_digest_whose_window_closes_is_shown_missed_with_its_last_error(
    sqlite_engine: Engine,
) -> None:
    with Session(sqlite_engine) as session:
        _reps(CRM(session, BERLIN_EIGHT), 1)
    with running_standin() as slack:
        slack.fail("chat.postMessage", "service_unavailable", status=503, times=None)
        _scheduler(sqlite_engine, slack, BERLIN_EIGHT).tick()  # one attempt, at 08:00
        # Every replica down from 08:01 until past the window.
        _scheduler(sqlite_engine, slack, BERLIN_EIGHT + timedelta(hours=4, minutes=1)).tick()
    [row] = _deliveries(sqlite_engine)
    assert row["status"] == "missed"
    assert row["error"] == (
        "not sent within 4:00:00 of its time; last error: HTTP 503 service_unavailable"
    )


def test_housekeeping_forgets_old_webhook_events_and_settled_writes_only(
    sqlite_engine: Engine,
) -> None:
    """The inbox and the outbox stay small for years; nothing still to do is forgotten."""
    from storage.models import OutboxOperation, OutboxState, OutboxWrite, OwnedObject, WebhookEvent

    at = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)

    def event(number: int, processed: datetime | None) -> WebhookEvent:
        return WebhookEvent(
            event_id=number,
            dedupe_key=f"key-{number}",
            subscription_type="deal.propertyChange",
            object_type="deals",
            object_id=str(number),
            occurred_at=at - timedelta(days=9),
            received_at=at - timedelta(days=9),
            payload={},
            processed_at=processed,
        )

    def write(state: OutboxState, days_ago: int) -> OutboxWrite:
        return OutboxWrite(
            object_type=OwnedObject.DEAL,
            object_id=1,
            record_kind="deal",
            operation=OutboxOperation.UPDATE,
            created_at=at - timedelta(days=days_ago),
            sent_at=at - timedelta(days=days_ago) if state is OutboxState.SENT else None,
            state=state,
        )

    sessions = session_factory(sqlite_engine)
    with sessions() as session:
        session.add_all(
            [
                event(1, processed=at - timedelta(days=4)),  # forgotten
                event(2, processed=at - timedelta(days=2)),  # still catches a late retry
                event(3, processed=None),  # not applied yet: kept
                write(OutboxState.SENT, days_ago=31),  # forgotten
                write(OutboxState.DISCARDED, days_ago=31),  # forgotten
                write(OutboxState.SENT, days_ago=29),
                write(OutboxState.FAILED, days_ago=60),  # still asks for a retry
                write(OutboxState.PENDING, days_ago=60),
            ]
        )
        session.commit()
    with running_standin() as slack:
        assert BackgroundJobs(_scheduler(sqlite_engine, slack, at)).prune_receipts() == 3
    with sessions() as session:
        assert sorted(session.scalars(select(WebhookEvent.event_id))) == [2, 3]
        left = sorted(str(state) for state in session.scalars(select(OutboxWrite.state)))
        assert left == ["failed", "pending", "sent"]
