"""``salesbot actions``: listing, JSON, explanations, and clear errors on bad input."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bot.cli import app
from bot.terminal.actions import render_actions_for_terminal
from rules.guided_actions import evaluate, open_actions
from storage.db import make_engine
from storage.models import Activity, SyncCursor
from tests.builders import CRM

AT = "2026-03-11T15:30:00Z"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@pytest.fixture
def data_dir(_sqlite_template: Path, tmp_path: Path, now: datetime) -> Path:
    """A data folder whose database has one rep with calls, a meeting and deals."""
    shutil.copyfile(_sqlite_template, tmp_path / "salesbot.sqlite3")
    engine = make_engine(f"sqlite:///{tmp_path / 'salesbot.sqlite3'}")
    with Session(engine) as session:
        crm = CRM(session, now)
        rep = crm.user(email="ana@seller.example", name="Ana")
        company = crm.company(name="Initech")
        buyer = crm.contact(rep, first_name="Bea", last_name="Buyer", company_id=company.id)
        crm.deal(rep, contacts=[buyer], name="Initech renewal")
        crm.contact(rep, first_name="Cy", last_name="Newman", company_id=company.id)
        for n in range(3):
            crm.call(rep, starts_at=now - 2 * HOUR - n * HOUR, subject=f"Call {n}")
        crm.deal(rep, created_at=now - 9 * DAY, name="Lonely deal", external_id="hs-lonely")
        session.commit()
    engine.dispose()
    return tmp_path


def _run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(app, ["actions", *args], env={"SALESBOT_DATA_DIR": str(data_dir)})
    return result.exit_code, result.stdout, result.stderr


def test_lists_a_users_actions_as_json(data_dir: Path) -> None:
    code, out, _ = _run(data_dir, "--user", "ANA@seller.example", "--at", AT, "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["version"] == 1 and payload["at"] == AT
    assert payload["user"]["email"] == "ana@seller.example"
    by_type = {a["type"]: a for a in payload["actions"]}
    assert set(by_type) == {"add_contact_to_deal", "log_call_outcome", "newly_assigned_contacts"}
    calls = by_type["log_call_outcome"]
    assert calls["bundled"] and calls["category"] == "all"
    assert sorted(i["label"] for i in calls["items"]) == ["Call 0", "Call 1", "Call 2"]
    lonely = by_type["add_contact_to_deal"]
    assert lonely["items"][0]["object"] == {
        "type": "deal",
        "id": lonely["items"][0]["object"]["id"],
        "external_id": "hs-lonely",
        "label": "Lonely deal",
    }
    assert lonely["created_at"] == AT and lonely["expires_at"] == "2026-03-18T15:30:00Z"
    # Ranked: closing work first.
    assert payload["actions"][0]["type"] == "add_contact_to_deal"


def test_category_filter_and_table_output(data_dir: Path) -> None:
    code, _out, _ = _run(data_dir, "--user", "ana@seller.example", "--at", AT, "-")
    assert code == 2  # stray argument
    code, out, _ = _run(
        data_dir, "--user", "ana@seller.example", "--at", AT, "--category", "prospecting"
    )
    assert code == 0
    assert "Prospecting-related" in out and "Cy Newman" in out
    assert "Closing-related" not in out and "Lonely deal" not in out


def test_explains_criterion_by_criterion(data_dir: Path) -> None:
    code, out, _ = _run(data_dir, "--explain", "18", "--object", "hs-lonely", "--at", AT, "--json")
    assert code == 0
    verdict = json.loads(out)
    assert verdict["type"] == "initial_outreach"
    failing = [c["key"] for c in verdict["criteria"] if not c["holds"]]
    assert failing == ["first_stage"]  # the default stage is the second one
    assert verdict["would_create"] is False

    code, out, _ = _run(data_dir, "--explain", "add_contact_to_deal", "--object", "hs-lonely")
    assert code == 0 and "✓ it has no associated contact" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody@x.example", "--at", AT], "no user 'nobody@x.example'"),
        (["--user", "ana@seller.example", "--at", "2026-03-11T15:30"], "has no time zone"),
        (["--user", "ana@seller.example", "--at", "yesterday"], "is not an ISO time"),
        (["--user", "ana@seller.example", "--category", "deals"], "--category must be"),
        (["--explain", "20", "--object", "1"], "unknown action type '20'"),
        (["--explain", "6", "--object", "999"], "no meeting with id '999'"),
        (["--explain", "6"], "--explain needs --object"),
        ([], "give --user"),
    ],
)
def test_bad_input_gets_a_clear_error(data_dir: Path, args: list[str], message: str) -> None:
    code, _out, err = _run(data_dir, *args)
    assert code == 2
    assert message in err


def test_terminal_rendering_groups_by_category(session: Session, crm: CRM, now: datetime) -> None:
    rep = crm.user()
    crm.deal(rep, created_at=now - 9 * DAY, name="Lonely deal")
    crm.contact(rep, first_name="Cy", last_name="Newman")
    evaluate(session, now=now)
    console = Console(record=True, width=120)
    render_actions_for_terminal(console, open_actions(session, user_id=rep.id, now=now))
    text = console.export_text()
    assert text.index("Closing-related") < text.index("Prospecting-related")
    assert "Add a contact to Lonely deal" in text and "Cy Newman" in text

    console = Console(record=True, width=120)
    render_actions_for_terminal(console, [])
    assert "No guided actions" in console.export_text()


def _mark_synced_from_hubspot(data_dir: Path, now: datetime) -> int:
    """The store as a HubSpot sync leaves it (a finished step); returns a call's id."""
    engine = make_engine(f"sqlite:///{data_dir / 'salesbot.sqlite3'}")
    with Session(engine) as session:
        session.add(SyncCursor(object_type="owners", cursor_id=0, records=1, last_success_at=now))
        session.commit()
        call_id = session.scalars(select(Activity.id).where(Activity.kind == "call")).first()
    engine.dispose()
    assert call_id is not None
    return call_id


def test_explain_names_where_hubspot_has_no_equivalent_field(data_dir: Path, now: datetime) -> None:
    code, out, _ = _run(data_dir, "--explain", "17", "--object", "hs-lonely", "--json")
    assert code == 0 and json.loads(out)["hubspot"] == []  # a snapshot's store: nothing to say
    call_id = _mark_synced_from_hubspot(data_dir, now)

    code, out, _ = _run(data_dir, "--explain", "8", "--object", str(call_id), "--at", AT, "--json")
    assert code == 0
    notes = json.loads(out)["hubspot"]
    assert [n for n in notes if "calling tool" in n] == [
        "HubSpot documents no flag for calls made with its calling tool: salesbot reads "
        "hs_call_source (CALLING_WIDGET, seen in real portals), and a call without it counts "
        "as logged by hand."
    ]
    code, out, _ = _run(data_dir, "--explain", "log_call_outcome", "--object", str(call_id))
    assert code == 0 and "With HubSpot's data" in out and "hs_call_source" in out
    code, out, _ = _run(data_dir, "--explain", "17", "--object", "hs-lonely")
    assert "hs_call_source" not in out and "permission sets" in out
