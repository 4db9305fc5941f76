"""Finding a deal by name among the deals a user may see, and only those."""

from __future__ import annotations

from sqlalchemy.orm import Session

from insights.finder import find_deal
from storage.models import User
from tests.builders import CRM


def _found(session: Session, viewer: User, query: str) -> int | None:
    search = find_deal(session, viewer=viewer, query=query)
    return search.deal.id if search.deal else None


def test_exact_fuzzy_ambiguous_and_none(session: Session, crm: CRM) -> None:
    rep = crm.user()
    acme = crm.deal(rep, name="Acme Corp renewal")
    crm.deal(rep, name="Globex expansion")
    crm.deal(rep, name="Globex renewal")

    assert _found(session, rep, "acme corp renewal") == acme.id
    assert _found(session, rep, str(acme.id)) == acme.id
    assert _found(session, rep, "acme") == acme.id
    assert _found(session, rep, "Acme Corp renewl") == acme.id

    globex = find_deal(session, viewer=rep, query="globex")
    assert globex.deal is None
    assert {c.name for c in globex.candidates} == {"Globex expansion", "Globex renewal"}
    assert globex.message() == "2 deals you can see match 'globex': which one?"

    nothing = find_deal(session, viewer=rep, query="Umbrella")
    assert nothing.not_found and nothing.message() == "No deal you can see matches 'Umbrella'."


def test_invisible_deals_are_never_candidates_and_the_answer_reveals_nothing(
    session: Session, crm: CRM
) -> None:
    rep, other = crm.user(), crm.user()
    secret = crm.deal(other, name="Umbrella merger")
    crm.deal(rep, name="Initech pilot")

    for query in ("Umbrella merger", "umbrella", str(secret.id), secret.external_id):
        search = find_deal(session, viewer=rep, query=query)
        assert search.not_found, query
        assert search.message() == find_deal(
            session, viewer=rep, query="Nonexistent"
        ).message().replace("Nonexistent", search.query)


def test_one_visible_match_beside_invisible_ones_hints_at_nothing(
    session: Session, crm: CRM
) -> None:
    """Other people's Umbrella deals exist; the rep sees one candidate, and only it."""
    rep, other = crm.user(), crm.user()
    crm.deal(other, name="Umbrella merger")
    crm.deal(other, name="Umbrella renewal")
    mine = crm.deal(rep, name="Umbrella pilot")

    search = find_deal(session, viewer=rep, query="umbrella deal")

    assert [c.id for c in search.candidates] == [mine.id]
    assert search.message() == "Did you mean Umbrella pilot?"
