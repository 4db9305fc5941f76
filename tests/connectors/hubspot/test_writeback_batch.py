"""Write-back creates: 100 to a batch, exactly once, and ``salesbot_id`` as a unique property
(docs/hubspot.md, "How a click reaches HubSpot")."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connectors.hubspot import Syncer
from connectors.hubspot.setup import check_properties, ensure_properties
from connectors.hubspot.write_api import MARKER_PROPERTY, WritingClient
from connectors.hubspot.writeback import CLAIM_TTL, OutboxSender
from rules.deals.ops import DealDraft, create_deal
from rules.op_result import OpResult
from rules.tasks.ops import TaskDraft, create_task
from storage.models import Activity, Deal, OutboxState, OutboxWrite, User
from tests.connectors.hubspot.conftest import SmallPortal, Store
from tests.connectors.hubspot.crashing_writer import run_until_killed
from tests.connectors.hubspot.test_writeback import NOW, _rows
from tests.support.hubspot import HubSpotStandIn

DUE = NOW + timedelta(days=1)


def _sender(
    store: Store, writer: WritingClient, holder: str = "replica-a", later: timedelta | None = None
) -> OutboxSender:
    """A replica's sender, knowing where ``salesbot_id`` is unique (as ``serve``'s worker
    learns at its start)."""
    at = NOW + (later or timedelta(0))
    return OutboxSender(
        store.engine,
        writer,
        holder=holder,
        clock=lambda: at,
        unique_types=check_properties(writer).unique_types,
    )


def _new_task(session: Session, actor: User, *, subject: str, deal_id: int | None) -> OpResult:
    return create_task(
        session, actor, TaskDraft(subject=subject, due_at=DUE, deal_id=deal_id), now=NOW
    )


def _new_deal(session: Session, actor: User, *, name: str) -> OpResult:
    return create_deal(session, actor, DealDraft(name=name, close_date=date(2026, 6, 30)), now=NOW)


def _with_subject(hubspot: HubSpotStandIn, subject: str) -> list[str]:
    return [
        r.id for r in hubspot.portal.live("tasks") if r.properties["hs_task_subject"] == subject
    ]


def _local_id(store: Store, subject: str) -> str | None:
    with Session(store.engine) as session:
        return session.scalar(select(Activity.external_id).where(Activity.subject == subject))


def test_new_tasks_go_in_one_batch_create_with_their_properties_and_links(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    subjects = ["Book the demo", "Send the contract", "Call the CFO"]
    for subject in subjects:
        store.act(partial(_new_task, subject=subject, deal_id=store.deal))

    report = _sender(store, writer).deliver()

    assert report.sent == 3
    assert hubspot.count("objects.batch_create") == 1
    assert hubspot.count("objects.create") == 0
    markers: dict[int | None, str | None] = {r.object_id: r.marker for r in _rows(store)}
    for subject in subjects:
        [crm_id] = _with_subject(hubspot, subject)
        task = hubspot.portal.get("tasks", crm_id)
        assert task.properties["hs_task_status"] == "NOT_STARTED"
        assert task.properties["hubspot_owner_id"] == small_portal.dana
        assert [link.to_id for link in hubspot.portal.associations("tasks", crm_id, "deals")] == [
            small_portal.deal
        ]
        # Each local task took the id of the HubSpot task made for it (matched by marker:
        # HubSpot does not answer in the inputs' order).
        assert _local_id(store, subject) == crm_id
        with Session(store.engine) as session:
            local = session.scalar(select(Activity.id).where(Activity.subject == subject))
        assert task.properties[MARKER_PROPERTY] == markers[local]


def test_a_create_the_batch_could_not_make_goes_alone_and_the_others_land_once(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    store.act(partial(_new_task, subject="Prepare the deal review", deal_id=store.deal))
    store.act(partial(_new_task, subject="Book the demo", deal_id=None))
    store.act(partial(_new_task, subject="Call the CFO", deal_id=None))
    # The deal goes in HubSpot before the tasks are sent: HubSpot cannot link one of them
    # (207: the other two are created). That one is sent alone, without the lost link.
    hubspot.portal.archive("deals", small_portal.deal)

    report = _sender(store, writer).deliver()

    assert hubspot.count("objects.batch_create", status=207) == 1
    alone = _with_subject(hubspot, "Prepare the deal review")
    assert len(alone) == 1
    assert hubspot.portal.associations("tasks", alone[0], "deals") == []
    assert len(_with_subject(hubspot, "Book the demo")) == 1
    assert len(_with_subject(hubspot, "Call the CFO")) == 1
    assert {r.state for r in _rows(store)} == {OutboxState.SENT}
    assert report.sent == 3 and report.failed == 0


def test_a_batch_create_answered_5xx_is_looked_up_before_it_is_sent_again(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn
) -> None:
    hubspot.fail_next(1, status=502, endpoint="objects.batch_create")
    for subject in ("Book the demo", "Call the CFO"):
        store.act(partial(_new_task, subject=subject, deal_id=None))

    report = _sender(store, writer).deliver()

    assert report.sent == 2
    assert len(_with_subject(hubspot, "Book the demo")) == 1
    assert len(_with_subject(hubspot, "Call the CFO")) == 1
    # The 502 left both unknown: one search for both tokens, then the batch again.
    assert hubspot.count("objects.search", object_type="tasks") == 1
    assert hubspot.count("objects.batch_create", status=201) == 1


def test_a_batch_whose_answer_was_lost_keeps_what_it_made_when_the_rest_is_refused(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    store.act(partial(_new_task, subject="Book the demo", deal_id=None))
    store.act(partial(_new_task, subject="Prepare the deal review", deal_id=store.deal))
    hubspot.portal.archive("deals", small_portal.deal)  # that task cannot be linked
    # HubSpot makes the first task, then the answer is lost (a gateway's 504).
    hubspot.fail_next(1, status=504, endpoint="objects.batch_create", after=True)

    report = _sender(store, writer).deliver()

    # Looked up, found, recorded: not made again when the other was refused (and then
    # sent alone, without its lost link).
    assert len(_with_subject(hubspot, "Book the demo")) == 1
    assert _local_id(store, "Book the demo") == _with_subject(hubspot, "Book the demo")[0]
    assert len(_with_subject(hubspot, "Prepare the deal review")) == 1
    assert report.sent == 2 and report.failed == 0


def test_killed_after_hubspot_took_a_batch_of_creates_none_is_made_twice(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn
) -> None:
    run_until_killed(str(store.engine.url), hubspot.base_url, hubspot.token, "batch-after-create")
    assert hubspot.count("objects.batch_create") == 1  # HubSpot has both tasks
    assert {r.state for r in _rows(store)} == {OutboxState.PENDING}
    # A sync reads HubSpot's new tasks before the write-back could record them: copies.
    Syncer(store.engine, writer).run(only=["tasks"])
    # The killed replica's claims run out; this one takes over.
    sender = _sender(store, writer, holder="replica-b", later=CLAIM_TTL + timedelta(seconds=1))

    report = sender.deliver()

    assert report.sent == 2
    assert hubspot.count("objects.batch_create") == 1
    assert hubspot.count("objects.create") == 0
    for subject in ("Send the contract", "Book the kick-off"):
        [crm_id] = _with_subject(hubspot, subject)
        # The copy was folded into the task the user created: one task, with HubSpot's id.
        with Session(store.engine) as session:
            assert session.scalars(
                select(Activity.external_id).where(Activity.subject == subject)
            ).all() == [crm_id]
    assert {r.crm_id for r in _rows(store)} == {
        *_with_subject(hubspot, "Send the contract"),
        *_with_subject(hubspot, "Book the kick-off"),
    }


def test_setup_makes_salesbot_id_unique_where_hubspot_allows_it(
    store: Store, writer: WritingClient
) -> None:
    deals = writer.property_definition("deals", MARKER_PROPERTY)
    assert deals is not None and deals["hasUniqueValue"] is True
    for activity in ("calls", "meetings", "notes", "tasks"):
        definition = writer.property_definition(activity, MARKER_PROPERTY)
        assert definition is not None and definition["hasUniqueValue"] is False
    assert check_properties(writer).unique_types == {"deals"}


def test_setup_says_when_an_earlier_salesbot_id_is_not_unique(
    writer: WritingClient, small_portal: SmallPortal
) -> None:
    writer.create_property_group("deals", name="salesbot", label="salesbot")
    # As the setup of an earlier version made it: plain (HubSpot cannot change that later).
    writer.create_property(
        "deals",
        {
            "name": MARKER_PROPERTY,
            "label": "salesbot id",
            "type": "string",
            "fieldType": "text",
            "groupName": "salesbot",
            "hasUniqueValue": False,
        },
    )

    report = ensure_properties(writer)

    assert report.not_unique == [("deals", "made without unique values by an earlier setup")]
    assert check_properties(writer).unique_types == frozenset()


def test_a_deal_hubspot_already_holds_is_recorded_not_made_twice(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    for name in ("Acme - Expansion", "Acme - Renewal"):
        store.act(partial(_new_deal, name=name))
    # HubSpot made the expansion deal already (a replica's send whose answer was lost, and
    # whose row never knew it was sent): its marker is taken.
    rows = {r.object_id: r for r in _rows(store)}
    with Session(store.engine) as session:
        expansion = session.scalar(select(Deal.id).where(Deal.name == "Acme - Expansion"))
    assert expansion is not None
    made = hubspot.portal.create(
        "deals",
        {
            "dealname": "Acme - Expansion",
            "pipeline": "default",
            "dealstage": "appointmentscheduled",
            MARKER_PROPERTY: rows[expansion].marker,
        },
    )

    report = _sender(store, writer).deliver()

    assert report.sent == 2 and report.failed == 0
    names = [r.properties["dealname"] for r in hubspot.portal.live("deals")]
    assert names.count("Acme - Expansion") == 1
    assert names.count("Acme - Renewal") == 1
    with Session(store.engine) as session:
        row = session.get(OutboxWrite, rows[expansion].id)
        assert row is not None and row.state is OutboxState.SENT and row.crm_id == made.id
        assert session.scalar(select(Deal.external_id).where(Deal.id == expansion)) == made.id
    # Found by its unique marker, exactly: no search was needed.
    assert hubspot.count("objects.search") == 0


def test_a_lost_create_is_matched_only_by_its_exact_marker(
    store: Store, writer: WritingClient, hubspot: HubSpotStandIn, small_portal: SmallPortal
) -> None:
    store.act(
        lambda s, a: create_task(s, a, TaskDraft(subject="Send the contract", due_at=DUE), now=NOW)
    )
    [row] = _rows(store)
    assert row.marker is not None
    # The send may have gone out before a crash (it had not), and HubSpot holds another
    # task whose salesbot_id merely resembles the marker: HubSpot's EQ on text ignores case.
    with Session(store.engine) as session:
        session.execute(
            update(OutboxWrite).where(OutboxWrite.id == row.id).values(sending_since=NOW)
        )
        session.commit()
    other = hubspot.portal.create(
        "tasks",
        {
            "hs_task_subject": "Someone else's task",
            "hs_timestamp": DUE,
            "hs_task_status": "NOT_STARTED",
            MARKER_PROPERTY: row.marker.upper(),
        },
    )
    Syncer(store.engine, writer).run(only=["tasks"])

    _sender(store, writer).deliver()

    [made] = _with_subject(hubspot, "Send the contract")
    assert made != other.id
    assert hubspot.portal.get("tasks", made).properties[MARKER_PROPERTY] == row.marker
    assert _local_id(store, "Send the contract") == made
    # The other task was not taken for the lost create, nor folded away here.
    assert _local_id(store, "Someone else's task") == other.id
