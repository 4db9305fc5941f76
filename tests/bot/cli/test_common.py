"""What every command shares: one way to name a user, one ``--at``, one line per error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import typer
from sqlalchemy.orm import Session

from bot.cli.common import UserNotFound, find_user, parse_at
from tests.builders import CRM


def test_a_user_is_found_by_email_owner_id_slack_id_id_or_name(session: Session, crm: CRM) -> None:
    dana = crm.user(name="Dana Cruz", email="Dana@seller.example", slack_user_id="UDANA")
    crm.user(name="Eli")
    session.flush()
    for typed in ("dana@SELLER.example", dana.external_id, "UDANA", str(dana.id), "dana cruz"):
        assert find_user(session, f" {typed} ") == dana, typed


def test_the_most_specific_rule_wins_and_a_shared_name_is_refused(
    session: Session, crm: CRM
) -> None:
    first = crm.user(name="Sam")
    crm.user(name="Sam")
    # A CRM owner id that is another user's database id: the owner id is what was meant.
    owner = crm.user(name="Owner", external_id=str(first.id))
    session.flush()
    assert find_user(session, str(first.id)) == owner
    with pytest.raises(UserNotFound, match="more than one user matches 'Sam'"):
        find_user(session, "Sam")
    with pytest.raises(UserNotFound, match="no user 'nobody'"):
        find_user(session, "nobody")


def test_at_takes_an_iso_time_with_a_zone_and_refuses_the_rest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert parse_at("2026-03-11T08:30-07:00") == datetime(2026, 3, 11, 15, 30, tzinfo=UTC)
    for text, complaint in (("2026-03-11T08:30", "has no time zone"), ("noon", "not an ISO")):
        with pytest.raises(typer.Exit) as stopped:
            parse_at(text)
        assert stopped.value.exit_code == 2
        assert complaint in capsys.readouterr().err
