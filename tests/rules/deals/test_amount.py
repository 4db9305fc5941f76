"""A deal's amount after creation: edited in the deal's Update form, typed any usual way."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from rules.deals.ops import DealChange, parse_amount, update_deal
from rules.op_result import OpStatus
from tests.builders import CRM


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("185000", "185000.00"),
        ("185.000", "185000.00"),  # German thousands
        ("185,000", "185000.00"),  # English thousands
        ("185,000.50", "185000.50"),
        ("185.000,50", "185000.50"),
        ("1.234.567", "1234567.00"),
        ("1 234 567,5", "1234567.50"),
        ("185'000", "185000.00"),
        ("12,5", "12.50"),
        ("12.555,5", "12555.50"),
        ("12.50", "12.50"),
        ("0", "0.00"),
        (" 999999999999.99 ", "999999999999.99"),
        (12000, "12000.00"),
    ],
)
def test_amounts_are_read_as_people_write_them(typed: object, amount: str) -> None:
    assert parse_amount(typed) == Decimal(amount)


@pytest.mark.parametrize(
    "typed",
    [
        "-5",
        "1e6",
        "12.345.6",
        "1,2,3",
        "12 34",
        "١٢",
        "1.234,567.89",
        "12.",
        ".5",
        "abc",
        "1000000000000",
        "0.001",
        "NaN",
        True,
    ],
)
def test_amounts_that_are_not_amounts_are_refused(typed: object) -> None:
    with pytest.raises(ValueError):
        parse_amount(typed)


def test_updating_the_amount_changes_it_once_and_refuses_junk(
    session: Session, crm: CRM, now: datetime
) -> None:
    rep = crm.user()
    deal = crm.deal(rep, name="Acme", amount=Decimal("12000"))

    result = update_deal(session, rep, deal.id, change=DealChange(amount="185.000"), now=now)

    assert result.message == "Done: 'Acme' updated (amount 185,000.00 USD)."
    assert deal.amount == Decimal("185000.00")
    same = update_deal(session, rep, deal.id, change=DealChange(amount="185,000"), now=now)
    assert same.status is OpStatus.ALREADY
    junk = update_deal(session, rep, deal.id, change=DealChange(amount="lots"), now=now)
    assert (junk.status, junk.field) == (OpStatus.INVALID, "amount")
    cleared = update_deal(session, rep, deal.id, change=DealChange(amount=""), now=now)
    assert cleared.message == "Done: 'Acme' updated (amount removed)." and deal.amount is None
