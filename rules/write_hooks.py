"""What happens after every write from a button: the guided actions see it at once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from storage.models import OwnedObject

ObjectRef = tuple[OwnedObject, int]


def after_write(session: Session, *, now: datetime, refs: Iterable[ObjectRef]) -> None:
    """Flush the write so that queries in the same transaction see it.

    Args:
        session: The unit of work the write happened in (the caller commits).
        now: The time of the write.
        refs: The records the write touched.
    """
    del now, refs  # used once the guided-actions engine can re-evaluate single records
    session.flush()
