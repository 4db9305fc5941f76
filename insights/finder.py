"""Finding a deal by id or name among the deals a user may see (CLI and Slack share it).

Only visible deals are ever compared, so an answer (found, candidates, nothing) reveals
nothing about deals the user may not see.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils
from sqlalchemy import func, or_
from sqlalchemy.orm import Session

from rules.permissions import visible_deals
from storage.models import Deal, User

# [choice] Scores are rapidfuzz WRatio (0-100) on the processed (lower-cased) names.
MATCH_CUTOFF = 60
SURE_SCORE = 90
SURE_LEAD = 8
MAX_CANDIDATES = 5


@dataclass(frozen=True)
class DealChoice:
    id: int
    name: str
    score: float


@dataclass(frozen=True)
class DealSearch:
    """The result of a search: one deal, several candidates, or nothing.

    Attributes:
        query: What was asked for.
        deal: The deal found, when the match is unambiguous.
        candidates: Best matches first, when several are plausible (empty otherwise).
    """

    query: str
    deal: DealChoice | None
    candidates: tuple[DealChoice, ...]

    @property
    def not_found(self) -> bool:
        return self.deal is None and not self.candidates

    def message(self) -> str:
        """A one-line answer for a user when no single deal was found."""
        if self.deal is not None:
            return f"Found {self.deal.name}."
        # Counted among visible deals only, and said as such: "several" never hints at
        # deals the user cannot see.
        if len(self.candidates) == 1:
            return f"Did you mean {self.candidates[0].name}?"
        if self.candidates:
            return f"{len(self.candidates)} deals you can see match {self.query!r}: which one?"
        # Same words whether the deal does not exist or is not visible to the user.
        return f"No deal you can see matches {self.query!r}."


def find_deal(session: Session, *, viewer: User, query: str) -> DealSearch:
    """Find a deal among those ``viewer`` may see, by id, external id or (fuzzy) name.

    Args:
        session: An open session (only read from).
        viewer: Whose deal visibility limits the search.
        query: A deal id ("42"), an external id, or part of a name ("acme renewal").

    Returns:
        A ``DealSearch``: exactly one ``deal``, or ``candidates`` to pick from, or neither.
    """
    text = " ".join(query.split())
    if not text:
        return DealSearch(query=query, deal=None, candidates=())
    exact = _exact(session, viewer=viewer, text=text)
    if len(exact) == 1:
        return DealSearch(query=text, deal=exact[0], candidates=())
    if len(exact) > 1:
        return DealSearch(query=text, deal=None, candidates=tuple(exact[:MAX_CANDIDATES]))
    rows = session.execute(visible_deals(viewer).with_only_columns(Deal.id, Deal.name)).all()
    names = {deal_id: name for deal_id, name in rows}
    matches = process.extract(
        text,
        names,
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        score_cutoff=MATCH_CUTOFF,
        limit=MAX_CANDIDATES,
    )
    choices = [DealChoice(id=key, name=name, score=score) for name, score, key in matches]
    choices.sort(key=lambda c: (-c.score, c.name.lower(), c.id))
    if not choices:
        return DealSearch(query=text, deal=None, candidates=())
    best = choices[0]
    runner_up = choices[1].score if len(choices) > 1 else 0.0
    if best.score >= SURE_SCORE and best.score - runner_up >= SURE_LEAD:
        return DealSearch(query=text, deal=best, candidates=())
    if len(choices) == 1:
        return DealSearch(query=text, deal=None, candidates=(best,))
    return DealSearch(query=text, deal=None, candidates=tuple(choices))


def _exact(session: Session, *, viewer: User, text: str) -> list[DealChoice]:
    conditions = [Deal.external_id == text, func.lower(Deal.name) == text.lower()]
    if text.isdigit():
        conditions.append(Deal.id == int(text))
    rows = session.execute(
        visible_deals(viewer)
        .with_only_columns(Deal.id, Deal.name)
        .where(or_(*conditions))
        .order_by(Deal.name, Deal.id)
    ).all()
    return [DealChoice(id=deal_id, name=name, score=100.0) for deal_id, name in rows]
