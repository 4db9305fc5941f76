"""The model's structured answer, and the citation check every statement must pass."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

logger = logging.getLogger(__name__)

# Statements kept per section, and characters per statement, whatever the model sends.
MAX_STATEMENTS = 5
MAX_STATEMENT_CHARS = 500


class DraftStatement(BaseModel):
    """One statement as the model writes it."""

    model_config = ConfigDict(extra="forbid")

    text: str
    activity_ids: list[int]


class InsightDraft(BaseModel):
    """The model's answer (the response format sent to the endpoint)."""

    model_config = ConfigDict(extra="forbid")

    recent_activity: list[DraftStatement]
    risks: list[DraftStatement]
    buyer_goals: list[DraftStatement]


@dataclass(frozen=True)
class CitedStatement:
    """A statement that passed the citation check."""

    text: str
    activity_ids: tuple[int, ...]


@dataclass(frozen=True)
class AiSections:
    recent_activity: tuple[CitedStatement, ...]
    risks: tuple[CitedStatement, ...]
    buyer_goals: tuple[CitedStatement, ...]

    @property
    def cited_ids(self) -> frozenset[int]:
        return frozenset(
            i
            for section in (self.recent_activity, self.risks, self.buyer_goals)
            for statement in section
            for i in statement.activity_ids
        )

    def to_json(self) -> dict[str, list[dict[str, object]]]:
        return {
            name: [{"text": s.text, "activity_ids": list(s.activity_ids)} for s in section]
            for name, section in (
                ("recent_activity", self.recent_activity),
                ("risks", self.risks),
                ("buyer_goals", self.buyer_goals),
            )
        }

    @classmethod
    def from_json(cls, data: dict[str, list[dict[str, object]]]) -> AiSections:
        def section(name: str) -> tuple[CitedStatement, ...]:
            return tuple(
                CitedStatement(
                    text=str(item["text"]),
                    activity_ids=tuple(int(i) for i in item["activity_ids"]),  # type: ignore[attr-defined]
                )
                for item in data.get(name, [])
            )

        return cls(section("recent_activity"), section("risks"), section("buyer_goals"))


@dataclass(frozen=True)
class DroppedStatement:
    section: str
    text: str
    activity_ids: tuple[int, ...]
    reason: str


def check_citations(
    draft: InsightDraft, *, allowed_ids: Iterable[int]
) -> tuple[AiSections, list[DroppedStatement]]:
    """Keep only statements that cite at least one activity, all of them in ``allowed_ids``.

    A statement citing an id outside the viewer's evidence is dropped whole: the model
    never saw such an id, so the statement is invented, and it must not reach the viewer.
    Every drop is logged (ids only, not the text, which may be invented).

    Returns:
        The checked sections and the statements dropped, with why.
    """
    allowed = frozenset(allowed_ids)
    dropped: list[DroppedStatement] = []

    def keep(name: str, statements: list[DraftStatement]) -> tuple[CitedStatement, ...]:
        kept: list[CitedStatement] = []
        for statement in statements:
            text = " ".join(statement.text.split())[:MAX_STATEMENT_CHARS]
            ids = tuple(dict.fromkeys(statement.activity_ids))
            reason = None
            if not text:
                reason = "empty"
            elif not ids:
                reason = "cites nothing"
            elif not set(ids) <= allowed:
                reason = f"cites ids outside the evidence: {sorted(set(ids) - allowed)}"
            elif len(kept) >= MAX_STATEMENTS:
                reason = "over the per-section limit"
            if reason is None:
                kept.append(CitedStatement(text=text, activity_ids=ids))
                continue
            logger.warning("dropped a %s statement citing %s: %s", name, list(ids), reason)
            dropped.append(DroppedStatement(name, text, ids, reason))
        return tuple(kept)

    sections = AiSections(
        recent_activity=keep("recent_activity", draft.recent_activity),
        risks=keep("risks", draft.risks),
        buyer_goals=keep("buyer_goals", draft.buyer_goals),
    )
    return sections, dropped
