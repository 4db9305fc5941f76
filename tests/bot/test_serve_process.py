"""``salesbot serve`` as a real process: health, a signed request, a graceful stop on a signal.

This is also how the container image's command is proven where no container runtime runs
(docs/operations.md): the same ``salesbot serve`` with the same environment.
"""

from __future__ import annotations

import json
import signal
import socket
from datetime import UTC, date, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage.deliveries import RELEASED_AT, Claim, claim
from storage.models import DeliveryStatus, DigestDelivery, DigestKind
from storage.types import utc
from tests.builders import CRM
from tests.support.app import APP_TOKEN
from tests.support.process import free_port, serve_process
from tests.support.signing import event_body
from tests.support.slack_api import running_standin
from tests.support.socket_mode import running_socket_standin


def _claim_as(session: Session, claimer: str, recipient_id: int, now: datetime) -> Claim | None:
    taken = claim(
        session,
        kind=DigestKind.REP,
        recipient_id=recipient_id,
        local_date=date(2026, 11, 30),
        due_at=now,
        now=now,
        claimer=claimer,
    )
    session.commit()
    return taken


def test_sigterm_finishes_work_in_flight_releases_claims_and_exits_0(
    sqlite_engine: Engine, crm: CRM, session: Session
) -> None:
    dana = crm.user(slack_user_id="UDANA")
    session.commit()
    with (
        running_standin(latency_seconds=0.5) as slack,
        serve_process(sqlite_engine, slack.api_url) as served,
    ):
        served.wait_healthy()
        claimer = f"{socket.gethostname()}:{served.process.pid}"
        # As if its digest tick had just claimed Dana's digest.
        assert _claim_as(session, claimer, dana.id, datetime.now(UTC)) is not None
        event = {"type": "app_home_opened", "user": "UDANA", "channel": "D0", "tab": "home"}
        status, _ = served.post_signed(event_body(event, event_id="EvSigterm"), "application/json")
        assert status == 200  # acknowledged; the Home tab is now being published
        code, logged = served.stop(signal.SIGTERM)
    assert code == 0, logged
    assert slack.calls_to("views.publish"), "the work in flight was dropped"
    assert "SIGTERM received: stopping" in logged and "stopped" in logged
    assert "Traceback" not in logged
    session.expire_all()
    row = session.scalars(select(DigestDelivery)).one()
    assert row.status is DeliveryStatus.CLAIMED and utc(row.claimed_at) == RELEASED_AT
    # Another replica can take it over at once, not after the five-minute lease.
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert _claim_as(session, "other:1", dana.id, later) is not None


def test_socket_mode_serves_health_and_metrics_and_closes_cleanly_on_sigint(
    sqlite_engine: Engine, crm: CRM, session: Session
) -> None:
    crm.user(slack_user_id="UDANA")
    session.commit()
    ops_port = free_port()
    with (
        running_standin() as slack,
        running_socket_standin(slack) as sockets,
        serve_process(
            sqlite_engine,
            slack.api_url,
            mode="socket",
            SLACK_APP_TOKEN=APP_TOKEN,
            SALESBOT_OPS_PORT=str(ops_port),
            SALESBOT_LOG_FORMAT="json",
        ) as served,
    ):
        served.port = ops_port
        served.wait_healthy()
        sockets.wait_connections(1)
        event = json.loads(
            event_body(
                {"type": "app_home_opened", "user": "UDANA", "channel": "D0", "tab": "home"},
                event_id="EvSocket",
            )
        )
        envelope = sockets.wait_ack(sockets.send("events_api", event))
        slack.wait_for("views.publish")
        status, text = served.request("GET", "/metrics")
        code, logged = served.stop(signal.SIGINT)
    assert envelope.acknowledged
    assert status == 200
    samples = {
        (s.name, s.labels.get("kind", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("salesbot_ack_seconds_count", "events_api")] == 1
    assert code == 0, logged
    records = [json.loads(line) for line in logged.splitlines() if line.strip()]
    assert any(r["message"] == "SIGINT received: stopping" for r in records)
    assert sockets.close_codes == [1000]  # a close frame, not a dropped connection
