"""``salesbot hubspot trial``: the connector end to end, offline, in one command.

The HubSpot stand-in (``demo.hubspot_portal``, installed with salesbot) starts as a process
loaded with the demo organisation; salesbot syncs it into a fresh embedded database,
shows the demo rep's day as ``salesbot demo`` does, then changes a few records through
HubSpot's API, lets the stand-in deliver the signed webhooks to salesbot's endpoint, and
shows the rep's guided actions follow.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import requests
from pydantic import SecretStr
from rich.console import Console
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.hubspot import WEBHOOK_PATH, HubSpotWorker, sync_and_apply, webhook_app
from bot.settings import load_settings
from bot.terminal.actions import show_guided_actions
from bot.terminal.insights import deal_insights_section
from bot.terminal.sections import (
    OVERVIEW_SECTIONS,
    TerminalContext,
    render_sections,
    terminal_console,
)
from connectors.hubspot import OfficialClient
from demo import DEMO_ADMIN_NAME, DEMO_MANAGER_NAME, FEATURED_DEAL_NAME, DemoOrg
from rules.guided_actions import evaluate, open_actions
from storage.db import make_engine, upgrade
from storage.models import Activity, ActivityKind, Contact, Deal, TaskStatus, User

TRIAL_DB = "hubspot-trial.sqlite3"
# The HubSpot stand-in, installed with salesbot (demo/hubspot_portal/).
STANDIN = "demo.hubspot_portal"


@dataclass(frozen=True)
class _Portal:
    base_url: str
    token: str
    rep_email: str


@contextmanager
def _standin(seed: int) -> Iterator[_Portal]:
    """The stand-in as a process, loaded with the demo organisation (an installed package:
    the trial needs no source checkout)."""
    process = subprocess.Popen(
        [sys.executable, "-m", STANDIN, "--demo", "--seed", str(seed), "--no-limits"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the HubSpot stand-in did not start")
        started = json.loads(line)
        yield _Portal(started["base_url"], started["token"], started.get("rep", ""))
    finally:
        process.terminate()
        process.wait(timeout=10)


class _Quiet(WSGIRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass


def _fresh_engine(data_dir: Path) -> Engine:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = (data_dir / TRIAL_DB).resolve()
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def _org(session: Session, rep_email: str, now: datetime) -> DemoOrg:
    def user(**where: Any) -> User:
        return session.scalars(select(User).filter_by(**where)).one()

    rep, manager, admin = (
        user(email=rep_email),
        user(name=DEMO_MANAGER_NAME),
        user(name=DEMO_ADMIN_NAME),
    )
    deal = session.scalars(select(Deal).where(Deal.name == FEATURED_DEAL_NAME)).one()
    return DemoOrg(
        rep.id,
        rep.name,
        rep.email,
        rep.slack_user_id or "",
        manager.id,
        manager.name,
        admin.id,
        admin.name,
        deal.id,
        deal.name,
        0,
        now,
    )


def run_trial(data_dir: Path, *, seed: int, width: int | None) -> None:
    console = terminal_console(width=width) if width else terminal_console()
    engine = _fresh_engine(data_dir)
    with _standin(seed) as portal:
        api = OfficialClient(token=portal.token, api_url=portal.base_url)
        started = time.perf_counter()
        applied = sync_and_apply(engine, api, full=True)
        assert applied.result is not None
        result = applied.result
        console.print(
            f"[bold]Synced the demo portal[/bold] in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{n} {name}" for name, t in result.types.items() if (n := t.records))
            + f" ({result.requests:,} API requests)"
        )
        now = datetime.now(UTC)
        with Session(engine) as session:
            org = _org(session, portal.rep_email, now)
            rep = session.get(User, org.rep_id)
            assert rep is not None
            context = TerminalContext(session=session, user=rep, now=now, org=org)
            render_sections(console, context, sections=OVERVIEW_SECTIONS)
            show_guided_actions(console, session, user_id=org.rep_id, now=now)
            render_sections(console, context, sections=[deal_insights_section])
        _webhook_round(console, engine, api, portal, org)
    console.print(f"[dim]The synced store: {data_dir / TRIAL_DB}[/dim]")
    engine.dispose()


def _webhook_round(
    console: Console, engine: Engine, api: OfficialClient, portal: _Portal, org: DemoOrg
) -> None:
    """Change records in HubSpot, deliver the webhooks to salesbot, show what followed."""
    secret = secrets.token_hex(16)
    settings = load_settings(hubspot_webhook_secret=SecretStr(secret))
    worker = HubSpotWorker(engine, api, every=timedelta(hours=1), publish=lambda _: None)
    server = make_server(
        "127.0.0.1", 0, webhook_app(settings, engine, worker), handler_class=_Quiet
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        before = _open_titles(engine, org.rep_id)
        changed = _change_in_hubspot(engine, portal, org)
        url = f"http://127.0.0.1:{server.server_port}{WEBHOOK_PATH}"
        started = time.perf_counter()
        answer = requests.post(
            f"{portal.base_url}/_standin/webhooks/deliver",
            json={"url": url, "clientSecret": secret},
            headers={"Authorization": f"Bearer {portal.token}"},
            timeout=30,
        )
        answer.raise_for_status()
        events = sum(d["events"] for d in answer.json()["deliveries"])
        applied = worker.apply_webhooks()
        console.rule("Changed in HubSpot, delivered by webhook")
        for line in changed:
            console.print(f"  {line}")
        seconds = time.perf_counter() - started
        after = _open_titles(engine, org.rep_id)
        console.print(
            f"{events} webhook events, {applied} applied in {seconds:.2f} s. "
            f"{org.rep_name}'s guided actions: {len(before)} before, {len(after)} after."
        )
        for title in sorted(before - after):
            console.print(f"  [green]done:[/green] {title}")
        for title in sorted(after - before):
            console.print(f"  [yellow]new:[/yellow] {title}")
    finally:
        server.shutdown()
        server.server_close()


def _open_titles(engine: Engine, user_id: int) -> set[str]:
    now = datetime.now(UTC)
    with Session(engine) as session:
        evaluate(session, now=now, user_ids=[user_id])
        session.commit()
        return {a.title for a in open_actions(session, user_id=user_id, now=now)}


def _change_in_hubspot(engine: Engine, portal: _Portal, org: DemoOrg) -> list[str]:
    """Through HubSpot's own API: complete the rep's most overdue task, and give a deal
    with no contact (rule 17's "Add a contact") one of its company's contacts."""
    from hubspot import HubSpot
    from hubspot.crm.objects import SimplePublicObjectInput

    client = HubSpot(access_token=portal.token, host=portal.base_url)
    changed = []
    with Session(engine) as session:
        task = session.scalars(
            select(Activity)
            .where(
                Activity.kind == ActivityKind.TASK,
                Activity.owner_id == org.rep_id,
                Activity.status != TaskStatus.COMPLETED,
            )
            .order_by(Activity.due_at)
            .limit(1)
        ).first()
        lonely = session.scalars(
            select(Deal)
            .where(Deal.owner_id == org.rep_id, ~Deal.contacts.any(), Deal.company_id.is_not(None))
            .order_by(Deal.id)
        ).first()
        contact = (
            session.scalars(
                select(Contact).where(Contact.company_id == lonely.company_id).order_by(Contact.id)
            ).first()
            if lonely is not None
            else None
        )
        picks = (
            (task.external_id, task.subject) if task else None,
            (lonely.external_id, lonely.name, contact.external_id, contact.full_name)
            if lonely is not None and contact is not None
            else None,
        )
    if picks[0] is not None:
        client.crm.objects.basic_api.update(
            "tasks",
            picks[0][0],
            SimplePublicObjectInput(properties={"hs_task_status": "COMPLETED"}),
        )
        changed.append(f"completed the task {picks[0][1]!r}")
    if picks[1] is not None:
        deal_id, deal_name, contact_id, contact_name = picks[1]
        client.crm.associations.v4.basic_api.create_default(
            "deals", deal_id, "contacts", contact_id
        )
        changed.append(f"associated {contact_name} with the deal {deal_name!r}")
    return changed
