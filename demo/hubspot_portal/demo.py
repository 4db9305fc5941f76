"""The demo organisation (``salesbot demo``'s) as a HubSpot portal.

The simplest faithful path: build the demo into a throwaway SQLite store with the demo's own
builder, then read the rows back out as HubSpot objects (``from_store.load_store``). Whatever
the demo gains later shows up in the portal without touching this file.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from demo import DEMO_DB_FILENAME, build_demo_org
from demo.hubspot_portal.from_store import LoadedPortal, load_store
from demo.hubspot_portal.portal import Portal
from storage.db import make_engine, session_factory, unit_of_work
from storage.models.base import Base


def load_demo_portal(portal: Portal, *, now: datetime, seed: int = 42) -> LoadedPortal:
    """Fill ``portal`` with the demo organisation built relative to ``now``."""
    with tempfile.TemporaryDirectory(prefix="hubspot-demo-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / DEMO_DB_FILENAME}")
        try:
            Base.metadata.create_all(engine)
            factory = session_factory(engine)
            with unit_of_work(factory) as session:
                org = build_demo_org(session, now=now, seed=seed)
            with unit_of_work(factory) as session:
                loaded = load_store(portal, session)
        finally:
            engine.dispose()
    loaded.rep_email = org.rep_email
    return loaded
