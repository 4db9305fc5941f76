"""A large, deterministic organisation written as a snapshot file, for benchmarks.

At scale 1.0: 1,000 users in teams of ten, 20,000 companies, 100,000 contacts, 10,000
leads, 20,000 deals and 1,000,000 activities (tasks, meetings, calls, emails, notes) with
their associations, spread around ``now`` so that the guided-action rules find work: tasks
due yesterday, today and tomorrow, meetings and calls without outcomes, email replies,
newly assigned and reassigned records, falling deal scores, deals without contacts.

The file is written record by record: memory does not depend on the scale. The same
(scale, now, seed) always gives the same bytes.

    python -m bench.generate FILE --scale 0.01
"""

from __future__ import annotations

import argparse
import json
import random
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine

from storage.defaults import DEFAULT_DEAL_STAGES, DEFAULT_LEAD_STAGES
from storage.snapshot.exporter import format_timestamp

BASE = {
    "users": 1000,
    "companies": 20_000,
    "contacts": 100_000,
    "sequences": 50,
    "sequence_enrollments": 5_000,
    "leads": 10_000,
    "deals": 20_000,
    "activities": 1_000_000,
}
DATA_DIR = Path(__file__).resolve().parent / "data"

_DEAL_STAGES = [
    ("appointmentscheduled", 0.22),
    ("qualifiedtobuy", 0.2),
    ("presentationscheduled", 0.15),
    ("decisionmakerboughtin", 0.1),
    ("contractsent", 0.08),
    ("closedwon", 0.13),
    ("closedlost", 0.12),
]
_LEAD_STAGES = [
    ("new", 0.3),
    ("attempting", 0.25),
    ("connected", 0.15),
    ("qualified", 0.15),
    ("disqualified", 0.15),
]
_LIFECYCLE = [
    ("subscriber", 0.1),
    ("lead", 0.35),
    ("marketingqualifiedlead", 0.15),
    ("salesqualifiedlead", 0.15),
    ("opportunity", 0.12),
    ("customer", 0.1),
    ("evangelist", 0.02),
    ("other", 0.01),
]
_ACTIVITY_KINDS = [
    ("task", 0.25),
    ("meeting", 0.1),
    ("call", 0.15),
    ("email", 0.35),
    ("note", 0.15),
]
_TIME_ZONES = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Chicago",
    "Asia/Tokyo",
]
_NOTES = [
    "Buyer wants to cut onboarding time in half.",
    "Concerned about the migration effort and the budget for next quarter.",
    "Procurement needs a security review before signing.",
    "Champion is leaving the company; need a new sponsor.",
    "Asked for a phased rollout to reduce risk.",
    "Competitor offered a lower price; value story needs work.",
]
_CALL_OUTCOMES = ["Connected", "Left voicemail", "No answer", "Wrong number", "Busy"]


def counts_for(scale: float) -> dict[str, int]:
    """Records per section at ``scale`` (at least a handful of each)."""
    minimum = {"users": 12, "sequences": 2}
    return {name: max(minimum.get(name, 5), round(base * scale)) for name, base in BASE.items()}


def write_snapshot(path: Path, *, scale: float, now: datetime, seed: int = 7) -> dict[str, int]:
    """Write an organisation of the given ``scale`` to ``path`` as a snapshot file.

    Args:
        path: the file to write (replaced if it exists).
        scale: 1.0 is 1,000 users, 100k contacts, 20k deals and 1M activities.
        now: records are placed around this time.
        seed: the random seed; the same arguments give the same file.

    Returns:
        Records written per section.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".partial")
    org = _Organisation(scale, now.astimezone(UTC), seed)
    written: dict[str, int] = {}
    with temporary.open("w", encoding="utf-8") as out:
        out.write('{"format":"salesbot-snapshot","version":1,')
        out.write(f'"exported_at":"{format_timestamp(now)}",\n')
        out.write('"workspace_settings":{"hipaa_sensitive_data":false,"customer_analysis":true}')
        for section, records in org.sections():
            written[section] = _write_array(out, section, records)
        out.write("\n}\n")
    temporary.replace(path)
    return written


def _write_array(out: IO[str], section: str, records: Iterator[dict[str, Any]]) -> int:
    out.write(f',\n"{section}":[')
    count = 0
    for record in records:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(record, separators=(",", ":")))
        count += 1
    out.write("]")
    return count


def snapshot_file(scale: float, now: datetime, *, seed: int = 7) -> Path:
    """The cached snapshot for ``scale`` and ``now``'s date (UTC), written if missing."""
    day = now.astimezone(UTC).date().isoformat()
    path = DATA_DIR / f"org-{scale:g}-{day}-seed{seed}.json"
    if not path.exists():
        write_snapshot(path, scale=scale, now=now, seed=seed)
    return path


def load_org(engine: Engine, *, scale: float, now: datetime) -> dict[str, int]:
    """Fill ``engine`` with the organisation of ``scale`` (migrating it first if needed).

    The snapshot file is cached in ``bench/data/`` by scale and date (UTC): later calls on
    the same day reuse it, with records placed around the ``now`` of the first call.

    Returns:
        Records inserted per section, and ``rows_written``.
    """
    from storage.db import is_up_to_date, upgrade
    from storage.snapshot import import_snapshot

    path = snapshot_file(scale, now)
    if not is_up_to_date(engine):
        upgrade(engine)
    report = import_snapshot(engine, path, now=now)
    counts = {name: c.inserted for name, c in report.sections.items()}
    counts["rows_written"] = report.rows_written
    return counts


class _Organisation:
    """Deterministic record streams; who owns what is computed from indices, not stored."""

    def __init__(self, scale: float, now: datetime, seed: int) -> None:
        self.now = now
        self.rng = random.Random(seed)
        self.n = counts_for(scale)
        self.n_teams = max(1, self.n["users"] // 10)
        # User 0 is the super admin; the first user of each team is its manager.
        self.reps = [u for u in range(1, self.n["users"]) if (u - 1) % 10 != 0]

    # Helpers -------------------------------------------------------------------------

    def _ago(self, low_days: float, high_days: float) -> datetime:
        seconds = self.rng.uniform(low_days * 86400, high_days * 86400)
        return (self.now - timedelta(seconds=seconds)).replace(microsecond=0)

    def _pick(self, weighted: list[tuple[str, float]]) -> str:
        roll, total = self.rng.random(), 0.0
        for value, weight in weighted:
            total += weight
            if roll < total:
                return value
        return weighted[-1][0]

    def rep_of_contact(self, i: int) -> int:
        return self.reps[(i * 7919) % len(self.reps)]

    def company_of_contact(self, i: int) -> int | None:
        return None if i % 5 == 4 else i % self.n["companies"]

    def contact_email(self, i: int) -> str:
        company = self.company_of_contact(i)
        return f"person{i}@" + (
            f"company{company}.example" if company is not None else "mail.example"
        )

    def deal_of_company(self, c: int) -> int | None:
        return c if c < self.n["deals"] else None

    @staticmethod
    def _t(value: datetime) -> str:
        return format_timestamp(value)

    # Sections ------------------------------------------------------------------------

    def sections(self) -> Iterator[tuple[str, Iterator[dict[str, Any]]]]:
        yield "teams", self.teams()
        yield "users", self.users()
        yield "goals", self.goals()
        yield "user_preferences", self.preferences()
        yield "pipelines", self.pipelines()
        yield "companies", self.companies()
        yield "contacts", self.contacts()
        yield "sequences", self.sequences()
        yield "sequence_enrollments", self.enrollments()
        yield "leads", self.leads()
        yield "deals", self.deals()
        yield "activities", self.activities()

    def teams(self) -> Iterator[dict[str, Any]]:
        for t in range(self.n_teams):
            yield {
                "id": f"team-{t}",
                "name": f"Team {t}",
                "timezone": _TIME_ZONES[t % len(_TIME_ZONES)],
                "digest_channel_id": f"CT{t:06d}",
            }

    def users(self) -> Iterator[dict[str, Any]]:
        for u in range(self.n["users"]):
            record: dict[str, Any] = {
                "id": f"u{u}",
                "name": f"User {u}",
                "email": f"user{u}@seller.example",
                "slack_user_id": f"U{u:07d}",
                "timezone": _TIME_ZONES[u % len(_TIME_ZONES)],
            }
            if u == 0:
                record |= {"role": "super_admin", "deal_visibility": "everything"}
            else:
                team = min((u - 1) // 10, self.n_teams - 1)
                record["team"] = f"team-{team}"
                if (u - 1) % 10 == 0:
                    record |= {"role": "manager", "deal_visibility": "team"}
            yield record

    def goals(self) -> Iterator[dict[str, Any]]:
        for u in self.reps:
            yield {"user": f"u{u}", "metric": "meetings_booked", "weekly_target": 5 + u % 6}
            yield {"user": f"u{u}", "metric": "calls_logged", "weekly_target": 20 + u % 15}

    def preferences(self) -> Iterator[dict[str, Any]]:
        for u in self.reps[::4]:
            yield {
                "user": f"u{u}",
                "digest_time": f"{7 + u % 3:02d}:{(u % 4) * 15:02d}",
                "follow_up_prompt": u % 8 != 0,
            }

    def pipelines(self) -> Iterator[dict[str, Any]]:
        for external_id, object_type, label, stages in (
            ("default", "deal", "Sales pipeline", DEFAULT_DEAL_STAGES),
            ("lead-pipeline", "lead", "Leads", DEFAULT_LEAD_STAGES),
        ):
            yield {
                "id": external_id,
                "object_type": object_type,
                "label": label,
                "stages": [
                    {"id": sid, "label": name, "state": state.value, "probability": p}
                    for sid, name, state, p in stages
                ],
            }

    def companies(self) -> Iterator[dict[str, Any]]:
        for c in range(self.n["companies"]):
            yield {
                "id": f"co{c}",
                "name": f"Company {c}",
                "domain": f"company{c}.example",
                "is_target_account": c % 10 == 0,
                "owner": f"u{self.reps[c % len(self.reps)]}",
                "owner_assigned_at": self._t(self._ago(30, 700)),
                "created_at": self._t(self._ago(700, 1500)),
            }

    def contacts(self) -> Iterator[dict[str, Any]]:
        for i in range(self.n["contacts"]):
            company = self.company_of_contact(i)
            created = self._ago(2, 900)
            owner = self.rep_of_contact(i)
            # 2% newly assigned (rule 1), 5% reassigned from someone else.
            recent = self.rng.random() < 0.02
            assigned = self._ago(0, 6) if recent else created + timedelta(hours=1)
            record: dict[str, Any] = {
                "id": f"ct{i}",
                "first_name": f"First{i}",
                "last_name": f"Last{i}",
                "email": self.contact_email(i),
                "lifecycle_stage": self._pick(_LIFECYCLE),
                "owner": f"u{owner}",
                "owner_assigned_at": self._t(assigned),
                "created_at": self._t(created),
            }
            if company is not None:
                record["company"] = f"co{company}"
            if i % 20 == 0:
                previous = self.reps[(i * 31 + 1) % len(self.reps)]
                record["owner_history"] = [
                    {"owner": f"u{previous}", "assigned_at": self._t(created)},
                    {"owner": f"u{owner}", "assigned_at": self._t(max(assigned, created))},
                ]
            yield record

    def sequences(self) -> Iterator[dict[str, Any]]:
        for s in range(self.n["sequences"]):
            yield {
                "id": f"seq{s}",
                "name": f"Sequence {s}",
                "owner": f"u{self.reps[s % len(self.reps)]}",
            }

    def enrollments(self) -> Iterator[dict[str, Any]]:
        for e in range(self.n["sequence_enrollments"]):
            contact = (e * 13) % self.n["contacts"]
            yield {
                "id": f"enr{e}",
                "sequence": f"seq{e % self.n['sequences']}",
                "contact": f"ct{contact}",
                "enrolled_by": f"u{self.rep_of_contact(contact)}",
                "enrolled_at": self._t(self._ago(1, 60)),
                "status": "active" if e % 4 else "finished",
                "current_step": 1 + e % 5,
            }

    def leads(self) -> Iterator[dict[str, Any]]:
        for k in range(self.n["leads"]):
            contact = (k * 7) % self.n["contacts"]
            stage = self._pick(_LEAD_STAGES)
            created = self._ago(1, 200)
            record: dict[str, Any] = {
                "id": f"lead{k}",
                "name": f"Lead {k}",
                "contact": f"ct{contact}",
                "owner": f"u{self.rep_of_contact(contact)}",
                "owner_assigned_at": self._t(created),
                "stage": stage,
                "stage_changed_at": self._t(created + (self.now - created) / 2),
                "created_at": self._t(created),
            }
            company = self.company_of_contact(contact)
            if company is not None:
                record["company"] = f"co{company}"
            if stage == "disqualified":
                record["disqualified_at"] = record["stage_changed_at"]
                record["disqualification_reason"] = "No budget"
            yield record

    def deals(self) -> Iterator[dict[str, Any]]:
        n_companies, n_contacts = self.n["companies"], self.n["contacts"]
        for d in range(self.n["deals"]):
            company = d % n_companies
            stage = self._pick(_DEAL_STAGES)
            created = self._ago(2, 400)
            owner = self.reps[(d * 104729) % len(self.reps)]
            record: dict[str, Any] = {
                "id": f"deal{d}",
                "name": f"Deal {d}",
                "owner": f"u{owner}",
                "owner_assigned_at": self._t(created),
                "stage": stage,
                "stage_changed_at": self._t(self._ago(0, (self.now - created).days + 1)),
                "amount": round(self.rng.lognormvariate(9.5, 1.0), 2),
                "close_date": (self.now + timedelta(days=self.rng.randint(-60, 120)))
                .date()
                .isoformat(),
                "created_at": self._t(created),
                "company": f"co{company}",
            }
            if stage.startswith("closed"):
                record["closed_at"] = record["stage_changed_at"]
            if d % 3:
                record["next_step"] = "Send the proposal"
                record["next_step_updated_at"] = self._t(self._ago(1, 30))
            # 10% have no contact (rule 17); others one to three of the company's contacts.
            if d % 10:
                members = [
                    company + k * n_companies
                    for k in range(1 + d % 3)
                    if company + k * n_companies < n_contacts
                    and (company + k * n_companies) % 5 != 4
                ]
                record["contacts"] = [{"contact": f"ct{m}"} for m in members]
            readings = d % 4
            score = self.rng.randint(40, 90)
            scores = []
            for r in range(readings):
                scores.append(
                    {
                        "recorded_at": self._t(self.now - timedelta(days=7 * (readings - r))),
                        "score": score,
                    }
                )
                # Every other deal's score falls (a deal risk).
                score = max(0, min(100, score + (-9 if d % 2 else 4)))
            if scores:
                record["scores"] = scores
            yield record

    def activities(self) -> Iterator[dict[str, Any]]:
        rng = self.rng
        meetings: deque[str] = deque(maxlen=50)
        sent: deque[tuple[str, int]] = deque(maxlen=50)
        for a in range(self.n["activities"]):
            kind = self._pick(_ACTIVITY_KINDS)
            reply_to = None
            if kind == "email" and sent and rng.random() < 0.35:
                reply_to, contact = sent.popleft()  # the buyer answers an email
            else:
                contact = rng.randrange(self.n["contacts"])
            owner = self.rep_of_contact(contact)
            record: dict[str, Any] = {"id": f"a{a}", "kind": kind, "owner": f"u{owner}"}
            links = self._links(contact)
            if kind == "task":
                self._task(record, a, meetings)
            elif kind == "meeting":
                self._meeting(record, a)
                meetings.append(record["id"])
            elif kind == "call":
                self._call(record)
            elif kind == "email":
                self._email(record, a, contact, reply_to)
                if reply_to is None:
                    sent.append((record["id"], contact))
            else:
                self._note(record)
            record.update(links)
            yield record

    def _links(self, contact: int) -> dict[str, list[str]]:
        """An activity's associations: its contact, the company, maybe a deal or a lead."""
        rng = self.rng
        company = self.company_of_contact(contact)
        links: dict[str, list[str]] = {"contacts": [f"ct{contact}"]}
        if company is not None:
            links["companies"] = [f"co{company}"]
            deal = self.deal_of_company(company)
            if deal is not None and rng.random() < 0.35:
                links["deals"] = [f"deal{deal}"]
        if rng.random() < 0.03:
            links["leads"] = [f"lead{rng.randrange(self.n['leads'])}"]
        return links

    def _task(self, record: dict[str, Any], a: int, meetings: deque[str]) -> None:
        rng = self.rng
        # Most tasks sit around today: overdue, due today, due tomorrow, later.
        due = self.now + timedelta(hours=rng.triangular(-24 * 30, 24 * 14, 0))
        due = due.replace(second=0, microsecond=0)
        done = due < self.now and rng.random() < 0.6
        record |= {
            "created_at": self._t(due - timedelta(days=rng.randint(1, 10))),
            "subject": f"Follow up #{a}",
            "due_at": self._t(due),
            "status": "completed"
            if done
            else rng.choice(["not_started", "in_progress", "waiting"]),
            "priority": rng.choice(["none", "low", "medium", "high", "high"]),
            "task_type": rng.choice(["todo", "call", "email", "linked_in"]),
        }
        if done:
            record["completed_at"] = self._t(due)
        if meetings and rng.random() < 0.2:
            record["follow_up_of"] = meetings[-1]
        if rng.random() < 0.05:
            record["sequence_enrollment"] = f"enr{rng.randrange(self.n['sequence_enrollments'])}"

    def _meeting(self, record: dict[str, Any], a: int) -> None:
        rng = self.rng
        start = (self.now + timedelta(hours=rng.triangular(-24 * 180, 24 * 14, 0))).replace(
            minute=rng.choice([0, 30]), second=0, microsecond=0
        )
        past = start < self.now
        outcome = "scheduled"
        if past and rng.random() < 0.75:
            outcome = rng.choice(["completed", "completed", "completed", "no_show", "rescheduled"])
        record |= {
            "created_at": self._t(start - timedelta(days=rng.randint(1, 14))),
            "subject": f"Meeting #{a}",
            "starts_at": self._t(start),
            "ends_at": self._t(start + timedelta(minutes=rng.choice([15, 30, 45, 60]))),
            "outcome": outcome,
            "meeting_link": f"https://meet.example/{a}",
        }

    def _call(self, record: dict[str, Any]) -> None:
        rng = self.rng
        start = self._ago(0, 200)
        minutes = rng.randint(1, 30)
        record |= {
            "created_at": self._t(start),
            "subject": "Call",
            "starts_at": self._t(start),
            "ends_at": self._t(start + timedelta(minutes=minutes)),
            "call_status": rng.choice(["completed", "completed", "no_answer", "busy"]),
            "via_calling_feature": rng.random() < 0.7,
            "duration_seconds": minutes * 60,
        }
        if rng.random() < 0.85:
            record["outcome"] = rng.choice(_CALL_OUTCOMES)

    def _email(self, record: dict[str, Any], a: int, contact: int, reply_to: str | None) -> None:
        rng = self.rng
        at = self._ago(0, 365)
        address = self.contact_email(contact)
        seller = f"user{record['owner'][1:]}@seller.example"
        if reply_to is not None:
            record |= {
                "direction": "incoming",
                "from_email": address,
                "to_emails": [seller],
                "primary_recipient": seller,
                "in_reply_to": reply_to,
                "thread_id": f"th{reply_to}",
            }
        else:
            record |= {
                "direction": "outgoing" if rng.random() < 0.93 else "forwarded",
                "from_email": seller,
                "to_emails": [address],
                "primary_recipient": address,
                "tracked": True,
                "thread_id": f"th{record['id']}",
            }
            if rng.random() < 0.5:
                record["opened_at"] = self._t(at + timedelta(hours=rng.uniform(0.1, 48)))
        record |= {"created_at": self._t(at), "subject": f"Email #{a}", "body": "Hello, ..."}

    def _note(self, record: dict[str, Any]) -> None:
        at = self._ago(0, 365)
        record |= {"created_at": self._t(at), "body": self.rng.choice(_NOTES)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a large organisation as a snapshot.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    counts = write_snapshot(args.file, scale=args.scale, now=datetime.now(UTC), seed=args.seed)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
