"""A realistic, deterministic demo organisation, built relative to ``now``.

Same seed, same organisation: every name, amount and relative time comes from one
``random.Random(seed)``; only the absolute times move with ``now``. Rows are written with
Core bulk inserts and explicit ids (thousands of activities in well under a second), in
foreign-key order, inside the caller's transaction.

The organisation: three teams (Los Angeles, Berlin, Tokyo), twelve reps, three managers and a
super admin; a few hundred companies and contacts; leads in every stage; about a hundred deals
with score histories; a few thousand activities over the past year. One rep, **Dana Reyes**,
gets a hand-made day that meets the creation criteria of every one of the spec's 19 guided
actions and carries every deal risk of Deal Insights (see docs/demo.md for the checklist).

Where things are: ``org`` (the whole, in writing order), ``people`` (teams and users),
``scenario`` (Dana's day, one function per group of guided actions), ``background`` (every
rep's ordinary year), ``records`` (one method per CRM record), ``rows`` (bulk writing),
``safety`` (where the demo may write), ``wording`` (names and sentences).
"""

from demo.org import DemoOrg, build_demo_org
from demo.people import DEMO_ADMIN_NAME, DEMO_MANAGER_NAME, DEMO_REP_NAME
from demo.safety import DEMO_DB_FILENAME, DemoRefused
from demo.scenario import FEATURED_DEAL_NAME

__all__ = [
    "DEMO_ADMIN_NAME",
    "DEMO_DB_FILENAME",
    "DEMO_MANAGER_NAME",
    "DEMO_REP_NAME",
    "FEATURED_DEAL_NAME",
    "DemoOrg",
    "DemoRefused",
    "build_demo_org",
]
