"""A Slack delivery is applied once, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from storage.receipts import claim_once, prune_receipts


def test_the_second_claim_of_a_key_loses(any_engine: Engine, now: datetime) -> None:
    with Session(any_engine) as session:
        assert claim_once(session, "event:Ev1", now=now) is True
        session.commit()
    with Session(any_engine) as session:
        assert claim_once(session, "event:Ev1", now=now) is False
        assert claim_once(session, "event:Ev2", now=now) is True
        session.commit()


def test_old_receipts_are_pruned(any_engine: Engine, now: datetime) -> None:
    with Session(any_engine) as session:
        claim_once(session, "old", now=now - timedelta(days=2))
        claim_once(session, "new", now=now)
        assert prune_receipts(session, older_than=now - timedelta(days=1)) == 1
        assert claim_once(session, "old", now=now) is True
        assert claim_once(session, "new", now=now) is False


def test_keys_must_be_sensible(session: Session, now: datetime) -> None:
    with pytest.raises(ValueError):
        claim_once(session, "", now=now)
    with pytest.raises(ValueError):
        claim_once(session, "k" * 256, now=now)
