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
    User,
    UserPreferences,
    WorkspaceSettings,
)


def _table(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


@dataclass(frozen=True)
class SectionTable:
    """One section's table.

    Attributes:
        section: JSON key of the section.
        table: the table its records go to.
        key_fields: JSON fields that identify a record (upsert key).
        key_columns: the columns holding those fields (after references are resolved).
        primary_key: the column updates are addressed by.
        owned: the object type in the assignment history, for owned records.
        small: the whole id map is kept in memory (a few thousand rows at most).
    """

    section: str
    table: Table
    key_fields: tuple[str, ...]
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
        SectionTable("teams", _table(Team), ("id",), ("external_id",), small=True),
        SectionTable("users", _table(User), ("id",), ("external_id",), small=True),
        SectionTable("goals", _table(Goal), ("user", "metric"), ("user_id", "metric")),
        SectionTable(
            "user_preferences",
            _table(UserPreferences),
            ("user",),
            ("user_id",),
            primary_key="user_id",
        ),
        SectionTable(
            "companies", _table(Company), ("id",), ("external_id",), owned=OwnedObject.COMPANY
        ),
        SectionTable(
            "contacts", _table(Contact), ("id",), ("external_id",), owned=OwnedObject.CONTACT
        ),
        SectionTable("sequences", _table(Sequence), ("id",), ("external_id",), small=True),
        SectionTable("sequence_enrollments", _table(SequenceEnrollment), ("id",), ("external_id",)),
        SectionTable("leads", _table(Lead), ("id",), ("external_id",), owned=OwnedObject.LEAD),
        SectionTable("deals", _table(Deal), ("id",), ("external_id",), owned=OwnedObject.DEAL),
        SectionTable(
            "activities",
            _table(Activity),
            ("id",),
            ("external_id",),
            owned=OwnedObject.ACTIVITY,
        ),
    )
}

# Activity association lists: JSON field -> (link table, column naming the other record).
ACTIVITY_LINKS: dict[str, tuple[Table, str]] = {
    "contacts": (_table(ActivityContact), "contact_id"),
    "companies": (_table(ActivityCompany), "company_id"),
    "deals": (_table(ActivityDeal), "deal_id"),
    "leads": (_table(ActivityLead), "lead_id"),
}

# Tables written apart from the sections' own (history, deal children, pipelines, settings).
ASSIGNMENTS = _table(Assignment)
DEAL_CONTACTS = _table(DealContact)
DEAL_SCORES = _table(DealScore)
PIPELINES = _table(Pipeline)
STAGES = _table(PipelineStage)
WORKSPACE = _table(WorkspaceSettings)

OWNED_SECTION: dict[OwnedObject, str] = {
    s.owned: s.section for s in SECTION_TABLES.values() if s.owned is not None
}

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
