"""The seller's organisation: three teams, twelve reps, three managers, a super admin."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from demo.records import Builder, Person
from storage.models import DealVisibility, Goal, GoalMetric, Role, Team, User

SELLER_DOMAIN = "northwind.example"

DEMO_REP_NAME = "Dana Reyes"
DEMO_MANAGER_NAME = "Morgan Lee"
DEMO_ADMIN_NAME = "Alex Kim"
DEMO_REP_SLACK_ID = "U0DEMO0001"

# external id, name, time zone, the channel its manager digest goes to (made-up ids, like
# the users' U0DEMO…: `digest preview --team` shows a manager's digest to a newcomer).
TEAMS = (
    ("team-west", "West", "America/Los_Angeles", "C0DEMOWEST"),
    ("team-emea", "EMEA", "Europe/Berlin", "C0DEMOEMEA"),
    ("team-apac", "APAC", "Asia/Tokyo", "C0DEMOAPAC"),
)
# name, team index, deal visibility; Dana first.
REPS = (
    (DEMO_REP_NAME, 0, DealVisibility.OWNED),
    ("Luis Ortega", 0, DealVisibility.TEAM),
    ("Priya Shah", 0, DealVisibility.OWNED),
    ("Tom Becker", 0, DealVisibility.EVERYTHING),
    ("Lena Vogel", 1, DealVisibility.OWNED),
    ("Jonas Richter", 1, DealVisibility.TEAM),
    ("Chloe Martin", 1, DealVisibility.OWNED),
    ("Marco Bellini", 1, DealVisibility.OWNED),
    ("Haruto Sato", 2, DealVisibility.OWNED),
    ("Mei Nakamura", 2, DealVisibility.TEAM),
    ("Ken Watanabe", 2, DealVisibility.OWNED),
    ("Aiko Suzuki", 2, DealVisibility.OWNED),
)
MANAGERS = ((DEMO_MANAGER_NAME, 0), ("Sabine Krause", 1), ("Takeshi Mori", 2))
WEEKLY_TARGETS = {
    GoalMetric.MEETINGS_BOOKED: 8,
    GoalMetric.CALLS_LOGGED: 15,
    GoalMetric.TASKS_COMPLETED: 20,
    GoalMetric.EMAILS_SENT: 40,
}


@dataclass(frozen=True)
class Staff:
    """The users the demo made, in the order of ``REPS`` and ``MANAGERS`` (Dana first)."""

    reps: list[Person]
    managers: list[Person]
    admin: Person


def add_staff(b: Builder) -> Staff:
    """Teams, their users (Slack ids U0DEMO0001 on) and every rep's weekly goals."""
    teams = []
    for external_id, name, zone, channel in TEAMS:
        team_id = b.rows.add(
            Team, external_id=external_id, name=name, timezone=zone, digest_channel_id=channel
        )
        teams.append((team_id, ZoneInfo(zone)))

    slack_ids = iter(f"U0DEMO{n:04d}" for n in range(1, 100))

    def person(name: str, team: int | None, role: Role, visibility: DealVisibility) -> Person:
        email = name.lower().replace(" ", ".") + "@" + SELLER_DOMAIN
        zone = teams[team][1] if team is not None else ZoneInfo("America/New_York")
        user_id = b.rows.add(
            User,
            external_id=b.key("owner"),
            name=name,
            email=email,
            email_domain=SELLER_DOMAIN,
            slack_user_id=next(slack_ids),
            timezone=zone.key,
            role=role,
            team_id=teams[team][0] if team is not None else None,
            deal_visibility=visibility,
            is_active=True,
        )
        b.used_names.add(name)
        return Person(user_id, name, email, zone, team if team is not None else -1)

    reps = [person(name, team, Role.REP, vis) for name, team, vis in REPS]
    managers = [person(name, team, Role.MANAGER, DealVisibility.TEAM) for name, team in MANAGERS]
    admin = person(DEMO_ADMIN_NAME, None, Role.SUPER_ADMIN, DealVisibility.EVERYTHING)
    for rep in reps:
        for metric, target in WEEKLY_TARGETS.items():
            b.rows.add(Goal, user_id=rep.id, metric=metric, weekly_target=target)
    return Staff(reps, managers, admin)
