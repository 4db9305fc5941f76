"""CRM changes that landed in the store, brought to the domain: the guided actions of the
records they touched are evaluated again, and the users whose view may differ are named.

Both ways a change arrives use it: a HubSpot sync or webhook (``bot.hubspot``) and a
write-back HubSpot answered with changed values (``bot.writeback``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from connectors.hubspot import SyncResult, touched_user_ids
from rules.guided_actions import evaluate
from rules.write_hooks import after_write


def apply_to_workspace(
    engine: Engine, result: SyncResult, *, full: bool, now: datetime
) -> set[int]:
    """Guided actions see the sync's changes; returns the users whose view may differ."""
    users = touched_user_ids(engine, result.touched)
    with Session(engine) as session:
        if full or result.owners_changed:
            evaluate(session, now=now)
        elif result.touched:
            after_write(session, now=now, refs=result.touched)
        session.commit()
    return users
