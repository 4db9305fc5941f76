"""Sequences from HubSpot: a sequence task makes rule 4's action; the Feed's filter follows
the contact's current enrollment (docs/hubspot.md, "Sequences")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connectors.hubspot import OfficialClient, Syncer
from connectors.hubspot.sequences import latest_enrollment
from rules.guided_actions import evaluate
from rules.workspace.feed import FeedFilters, SequenceFilter, feed
from storage.models import (
    ActionState,
    Activity,
    EnrollmentStatus,
    GuidedActionItem,
    SequenceEnrollment,
    User,
)
from tests.connectors.hubspot.conftest import SmallPortal
from tests.support.hubspot import HubSpotStandIn

ENROLLED = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)


def _sync(engine: Engine, api: OfficialClient, *, full: bool = False) -> None:
    result = Syncer(engine, api, archived_sweep_every=timedelta(0)).run(full=full)
    assert result.problems == []


def _rule_4_items(engine: Engine, now: datetime) -> list[str]:
    with Session(engine) as session:
        evaluate(session, now=now)
        session.commit()
        rows = session.execute(
            select(Activity.subject)
            .join(GuidedActionItem, GuidedActionItem.object_id == Activity.id)
            .where(
                GuidedActionItem.action_type == "sequence_activity",
                GuidedActionItem.state == ActionState.OPEN,
            )
        )
        return sorted(str(s) for s in rows.scalars())


def _enrolled_contacts(engine: Engine, now: datetime) -> list[str]:
    with Session(engine) as session:
        dana = session.scalars(select(User).where(User.email == "dana@northwind.example")).one()
        page = feed(session, dana, now=now, filters=FeedFilters(sequence=SequenceFilter.ENROLLED))
        return [g.contact.name for g in page.groups]


def _enroll(hubspot: HubSpotStandIn, small: SmallPortal) -> str:
    """Ada in sequence 4242 since ENROLLED, with an open step task made by it."""
    portal = hubspot.portal
    portal.update(
        "contacts",
        small.ada,
        {
            "hs_sequences_is_enrolled": "true",
            "hs_latest_sequence_enrolled": "4242",
            "hs_latest_sequence_enrolled_date": ENROLLED,
        },
    )
    task = portal.create(
        "tasks",
        {
            "hs_task_subject": "Sequence step 2: call Ada",
            "hs_task_status": "NOT_STARTED",
            "hs_task_type": "CALL",
            "hs_timestamp": ENROLLED + timedelta(days=2),
            "hubspot_owner_id": small.dana,
            "hs_task_sequence_step_enrollment_id": "9100001",
        },
    )
    portal.associate("tasks", task.id, "contacts", small.ada)
    return task.id


def test_a_sequence_task_from_hubspot_makes_rule_4s_action(
    sqlite_engine: Engine, api: OfficialClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    _enroll(hubspot, small_portal)
    _sync(sqlite_engine, api, full=True)
    now = ENROLLED + timedelta(days=2)

    assert _rule_4_items(sqlite_engine, now) == ["Sequence step 2: call Ada"]
    assert _enrolled_contacts(sqlite_engine, now) == ["Ada Lovelace"]
    with Session(sqlite_engine) as session:
        rows = session.scalars(select(SequenceEnrollment).order_by(SequenceEnrollment.id)).all()
        assert {(r.external_id, r.status, r.sequence.external_id) for r in rows} == {
            (f"hubspot-latest:{small_portal.ada}", EnrollmentStatus.ACTIVE, "4242"),
            ("9100001", EnrollmentStatus.ACTIVE, "4242"),
        }


def test_a_contact_that_leaves_its_sequence_leaves_the_feeds_filter(
    sqlite_engine: Engine, api: OfficialClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    task = _enroll(hubspot, small_portal)
    _sync(sqlite_engine, api, full=True)
    hubspot.portal.update(
        "contacts",
        small_portal.ada,
        {
            "hs_sequences_is_enrolled": "false",
            "hs_latest_sequence_unenrolled_date": ENROLLED + timedelta(days=3),
        },
    )
    # The step's task stays a sequence task when the task itself did not change.
    hubspot.portal.update("tasks", task, {"hs_task_priority": "HIGH"})
    _sync(sqlite_engine, api)
    now = ENROLLED + timedelta(days=3, hours=1)

    assert _enrolled_contacts(sqlite_engine, now) == []
    assert _rule_4_items(sqlite_engine, now) == ["Sequence step 2: call Ada"]
    with Session(sqlite_engine) as session:
        statuses = set(session.scalars(select(SequenceEnrollment.status)))
        assert statuses == {EnrollmentStatus.UNENROLLED}


def test_a_deleted_contact_takes_its_enrollments_along(
    sqlite_engine: Engine, api: OfficialClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    _enroll(hubspot, small_portal)
    _sync(sqlite_engine, api, full=True)
    hubspot.portal.archive("contacts", small_portal.ada)
    _sync(sqlite_engine, api)

    with Session(sqlite_engine) as session:
        assert session.scalars(select(SequenceEnrollment)).all() == []
        task = session.scalars(select(Activity).where(Activity.subject.like("Sequence%"))).one()
        assert task.sequence_enrollment_id is None


@pytest.mark.parametrize(
    ("properties", "status"),
    [
        ({"hs_sequences_is_enrolled": "true"}, EnrollmentStatus.ACTIVE),
        ({}, EnrollmentStatus.ACTIVE),
        ({"hs_sequences_is_enrolled": "false"}, EnrollmentStatus.FINISHED),
        (
            {"hs_latest_sequence_finished_date": "2026-01-09T00:00:00Z"},
            EnrollmentStatus.FINISHED,
        ),
        (
            {
                "hs_sequences_is_enrolled": "false",
                "hs_latest_sequence_unenrolled_date": "2026-01-08T00:00:00Z",
            },
            EnrollmentStatus.UNENROLLED,
        ),
    ],
)
def test_a_contacts_properties_say_where_its_latest_enrollment_stands(
    properties: dict[str, str], status: EnrollmentStatus
) -> None:
    latest = latest_enrollment(
        {
            "hs_latest_sequence_enrolled": "4242.0",
            "hs_latest_sequence_enrolled_date": "2026-01-06T09:00:00Z",
            **properties,
        }
    )
    assert latest is not None and (latest.sequence, latest.status) == ("4242", status)
    assert latest_enrollment({"hs_sequences_is_enrolled": "false"}) is None
