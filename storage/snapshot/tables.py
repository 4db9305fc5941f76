"""How each snapshot section maps onto tables: keys, references, owned-record details."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table

from storage.models import (
    Activity,
    ActivityCompany,
    ActivityContact,
    ActivityDeal,
    ActivityLead,
    Assignment,
    Company,
    Contact,
    Deal,
    DealContact,
    DealScore,
    Goal,
    Lead,
    OwnedObject,
    Pipeline,
    PipelineStage,
    Sequence,
    SequenceEnrollment,
    Team,
    TeamDigestSettings,
    User,
    UserPreferences,
    WorkspaceSettings,
    table_of,
)


@dataclass(frozen=True)
class SectionTable:
    """One section's table.

    Attributes:
        section: JSON key of the section.
        table: the table its records go to.
        key_columns: the columns that identify a record (upsert key, after references
            are resolved).
        primary_key: the column updates are addressed by.
        owned: the object type in the assignment history, for owned records.
        small: the whole id map is kept in memory (a few thousand rows at most).
    """

    section: str
    table: Table
    key_columns: tuple[str, ...]
    primary_key: str = "id"
    owned: OwnedObject | None = None
    small: bool = False

    @property
    def by_external_id(self) -> bool:
        return self.key_columns == ("external_id",)


SECTION_TABLES: dict[str, SectionTable] = {
    s.section: s
    for s in (
        SectionTable("teams", table_of(Team), ("external_id",), small=True),
        SectionTable("users", table_of(User), ("external_id",), small=True),
        SectionTable("goals", table_of(Goal), ("user_id", "metric")),
        SectionTable(
            "user_preferences",
            table_of(UserPreferences),
            ("user_id",),
            primary_key="user_id",
        ),
        SectionTable("companies", table_of(Company), ("external_id",), owned=OwnedObject.COMPANY),
        SectionTable("contacts", table_of(Contact), ("external_id",), owned=OwnedObject.CONTACT),
        SectionTable("sequences", table_of(Sequence), ("external_id",), small=True),
        SectionTable("sequence_enrollments", table_of(SequenceEnrollment), ("external_id",)),
        SectionTable("leads", table_of(Lead), ("external_id",), owned=OwnedObject.LEAD),
        SectionTable("deals", table_of(Deal), ("external_id",), owned=OwnedObject.DEAL),
        SectionTable(
            "activities",
            table_of(Activity),
            ("external_id",),
            owned=OwnedObject.ACTIVITY,
        ),
    )
}

# Activity association lists: JSON field -> (link table, column naming the other record).
ACTIVITY_LINKS: dict[str, tuple[Table, str]] = {
    "contacts": (table_of(ActivityContact), "contact_id"),
    "companies": (table_of(ActivityCompany), "company_id"),
    "deals": (table_of(ActivityDeal), "deal_id"),
    "leads": (table_of(ActivityLead), "lead_id"),
}

# Tables written apart from the sections' own (history, deal children, team digest
# schedules, pipelines, settings).
ASSIGNMENTS = table_of(Assignment)
DEAL_CONTACTS = table_of(DealContact)
DEAL_SCORES = table_of(DealScore)
PIPELINES = table_of(Pipeline)
STAGES = table_of(PipelineStage)
TEAM_DIGESTS = table_of(TeamDigestSettings)
WORKSPACE = table_of(WorkspaceSettings)

# How a record type is named in messages ("unknown contact 'c-9'").
SINGULAR = {
    "teams": "team",
    "users": "user",
    "pipelines": "pipeline",
    "stages": "stage",
    "companies": "company",
    "contacts": "contact",
    "sequences": "sequence",
    "sequence_enrollments": "sequence enrollment",
    "leads": "lead",
    "deals": "deal",
    "activities": "activity",
}
