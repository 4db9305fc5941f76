"""The direct message about a change HubSpot did not take speaks its user's language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.settings import load_settings
from bot.writeback import CRM_NAME, notice_message
from handlers.slack.services import Services
from storage.db import session_factory
from storage.models import OutboxOperation, OutboxState, OutboxWrite, OwnedObject, WriteReason
from storage.outbox import enable_outbox
from tests.builders import CRM


def _failed_write(
    engine: Engine, now: datetime, *, slack_locale: str | None, coded: bool = True
) -> int:
    with Session(engine) as session:
        crm = CRM(session, now)
        rep = crm.user(slack_user_id="UREP", slack_locale=slack_locale)
        task = crm.task(rep, subject="Angebot vorbereiten")
        row = OutboxWrite(
            object_type=OwnedObject.ACTIVITY,
            object_id=task.id,
            record_kind="task",
            operation=OutboxOperation.UPDATE,
            actor_id=rep.id,
            created_at=now,
            state=OutboxState.FAILED,
            last_error="HubSpot refused the values: hs_timestamp is not a date",
        )
        if coded:  # as the connector stores it (a row from before reason codes has none)
            row.reason_code = WriteReason.REFUSED_VALUES.value
            row.reason_values = {"detail": "hs_timestamp is not a date"}
        session.add(row)
        session.commit()
        return row.id


def _services(engine: Engine, now: datetime) -> Services:
    sessions = session_factory(engine)
    enable_outbox(sessions, crm_name=CRM_NAME)
    return Services(sessions=sessions, settings=load_settings(), clock=lambda: now)


def test_a_german_user_is_told_in_german(sqlite_engine: Engine, now: datetime) -> None:
    row_id = _failed_write(sqlite_engine, now, slack_locale="de-DE")
    message = notice_message(_services(sqlite_engine, now), row_id, default_language="en")
    assert message is not None
    text, blocks = message
    assert text == (
        "Nicht in HubSpot gespeichert: „Angebot vorbereiten“: HubSpot hat die Werte "
        "abgelehnt: hs_timestamp is not a date. Deine Ansicht zeigt wieder die Werte aus HubSpot."
    )
    assert blocks[-1]["elements"][0]["text"]["text"] == "Erneut versuchen"


def test_an_english_user_is_told_in_english(sqlite_engine: Engine, now: datetime) -> None:
    row_id = _failed_write(sqlite_engine, now, slack_locale=None)
    message = notice_message(_services(sqlite_engine, now), row_id, default_language="en")
    assert message is not None
    assert message[0].startswith("Not saved in HubSpot: “Angebot vorbereiten”: HubSpot refused")
    assert message[1][-1]["elements"][0]["text"]["text"] == "Retry"


def test_a_row_from_before_reason_codes_shows_its_stored_reason(
    sqlite_engine: Engine, now: datetime
) -> None:
    row_id = _failed_write(sqlite_engine, now, slack_locale="de-DE", coded=False)
    message = notice_message(_services(sqlite_engine, now), row_id, default_language="en")
    assert message is not None
    assert message[0].startswith(
        "Nicht in HubSpot gespeichert: „Angebot vorbereiten“: HubSpot refused the values: "
        "hs_timestamp is not a date."
    )
