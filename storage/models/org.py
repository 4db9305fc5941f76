"""People and settings: teams, users, goals, workspace settings."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, str_enum
from storage.types import UTCDateTime


class Role(StrEnum):
    REP = "rep"
    MANAGER = "manager"
    SUPER_ADMIN = "super_admin"


class DealVisibility(StrEnum):
    """HubSpot's per-object permission: which deals a user may view."""

    EVERYTHING = "everything"
    TEAM = "team"
    OWNED = "owned"


class GoalMetric(StrEnum):
    MEETINGS_BOOKED = "meetings_booked"
    CALLS_LOGGED = "calls_logged"
    TASKS_COMPLETED = "tasks_completed"
    EMAILS_SENT = "emails_sent"


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Slack channel for the manager digest; None means no channel digest.
    digest_channel_id: Mapped[str | None] = mapped_column(String(32))

    members: Mapped[list[User]] = relationship(back_populates="team", foreign_keys="User.team_id")


class User(Base):
    """A CRM owner: rep, manager or super admin."""

    __tablename__ = "users"
    # One person per address whatever its case: linking a Slack user by email can never
    # pick one of two people.
    __table_args__ = (Index("uq_users_email_lower", func.lower(text("email")), unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # HubSpot's owner id (goes into hubspot_owner_id on records).
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # Lower-cased part after "@": rules compare it with contacts' domains.
    email_domain: Mapped[str] = mapped_column(String(255), index=True)
    slack_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Slack's locale for the user ("de-DE", from users.info include_locale); None until known.
    slack_locale: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.REP)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    deal_visibility: Mapped[DealVisibility] = mapped_column(
        str_enum(DealVisibility), default=DealVisibility.OWNED
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    team: Mapped[Team | None] = relationship(back_populates="members", foreign_keys=[team_id])


class Goal(Base):
    """A weekly target for one user and one metric."""

    __tablename__ = "goals"
    __table_args__ = (UniqueConstraint("user_id", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    metric: Mapped[GoalMetric] = mapped_column(str_enum(GoalMetric))
    weekly_target: Mapped[int] = mapped_column(Integer)


class UserPreferences(Base):
    """What a user chose in `/sales settings`; a missing row means the defaults."""

    __tablename__ = "user_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    digest_time: Mapped[time] = mapped_column(Time, default=time(8, 0))
    # ISO weekday numbers (1 = Monday) on which the digest is sent.
    digest_weekdays: Mapped[list[int]] = mapped_column(JSON, default=lambda: [1, 2, 3, 4, 5])
    # Overrides the Slack/CRM time zone when set.
    timezone_override: Mapped[str | None] = mapped_column(String(64))
    follow_up_prompt: Mapped[bool] = mapped_column(Boolean, default=True)
    # "all_clear": send a one-line digest when there is nothing to do; "skip": send nothing.
    empty_digest: Mapped[str] = mapped_column(String(16), default="all_clear")
    muted_action_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The language chosen in /sales settings ("de"); None follows Slack's locale.
    language: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WorkspaceSettings(Base):
    """One row (id = 1) of portal-wide switches."""

    __tablename__ = "workspace_settings"

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    # HIPAA-protected sensitive data: when on, no AI content at all.
    hipaa_sensitive_data: Mapped[bool] = mapped_column(Boolean, default=False)
    # AI setting "customer analysis": Deal Insights' AI sections need it on.
    customer_analysis: Mapped[bool] = mapped_column(Boolean, default=True)
    # Lifecycle stages that count as "already a customer" (rule 1), in case they are customised.
    late_lifecycle_stages: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: ["customer", "evangelist"]
    )
