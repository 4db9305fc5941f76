"""Where a guided action's rule reads a field HubSpot's API does not have, in one sentence.

The one source of these sentences: ``salesbot actions --explain`` prints the ones of the
rule it explains when the store is fed by HubSpot (``is_synced``), and docs/hubspot.md's
table "What `--explain` says about HubSpot" is checked against ``GAPS`` by a test
(``markdown_table`` writes the table). The domain does not import this module: the bot
layer puts the two together.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import SyncCursor


@dataclass(frozen=True)
class Gap:
    """One field a rule reads that HubSpot has no equivalent of, and what salesbot does.

    Attributes:
        topic: a few words naming the field.
        rules: the rule numbers whose criteria or expiry read it; empty: every rule.
        sentence: what ``--explain`` says, one plain sentence.
    """

    topic: str
    rules: tuple[int, ...]
    sentence: str


GAPS: tuple[Gap, ...] = (
    Gap(
        "email replies",
        (5, 9, 10, 11, 19),
        "HubSpot does not link a reply to the email it answers: an incoming email counts as "
        "the reply to the latest email sent before it in its thread (hs_email_thread_id, "
        "seen in real portals but not documented).",
    ),
    Gap(
        "primary recipient",
        (1, 9, 11),
        "HubSpot has no primary recipient of an email: salesbot takes the first address of "
        "hs_email_to_email.",
    ),
    Gap(
        "tracked emails",
        (1,),
        "HubSpot documents no tracked flag on an email: salesbot counts it as tracked when it "
        "has hs_email_tracker_key or an open count (both seen in real portals, not "
        "documented).",
    ),
    Gap(
        "email opens and clicks",
        (3, 14, 15, 18, 19),
        "HubSpot keeps no open time per email, only per contact (hs_sales_email_last_opened): "
        "the latest opened email to a contact gets that time, an older opened one its send "
        "time (so 'opened N days ago' can hold early), and a click, counted without a time, "
        "is no engagement.",
    ),
    Gap(
        "lead disqualification time",
        (3,),
        "HubSpot records no disqualification time: salesbot takes the time the lead entered "
        "its lost stage, from the property history of hs_pipeline_stage.",
    ),
    Gap(
        "calls made with HubSpot's calling tool",
        (8,),
        "HubSpot documents no flag for calls made with its calling tool: salesbot reads "
        "hs_call_source (CALLING_WIDGET, seen in real portals), and a call without it counts "
        "as logged by hand.",
    ),
    Gap(
        "next step updated",
        (16,),
        "HubSpot documents no time of the last next-step change: salesbot takes the newest "
        "entry of hs_next_step's property history.",
    ),
    Gap(
        "owner assignment time",
        (1, 2),
        "HubSpot documents no owner assignment time on every object: salesbot reads "
        "hubspot_owner_assigneddate (seen in real portals), and records an owner change when "
        "the sync sees it.",
    ),
    Gap(
        "sequences",
        (4,),
        "HubSpot shows which enrollment made a task (hs_task_sequence_step_enrollment_id, "
        "seen in real portals, not documented) and only each contact's latest enrollment: "
        "past enrollments are not readable.",
    ),
    Gap(
        "follow-up tasks",
        (7,),
        "HubSpot does not link a task to the meeting it follows up: with HubSpot's data this "
        "action ends only by its other conditions.",
    ),
    Gap(
        "roles and visibility",
        (),
        "HubSpot's permission sets are not in its API: who is a manager or super admin comes "
        "from the role's name, and whose records a user may see is salesbot's setting.",
    ),
)


def gaps_for(rule_number: int) -> tuple[Gap, ...]:
    """The gaps a rule meets, in the table's order."""
    return tuple(g for g in GAPS if not g.rules or rule_number in g.rules)


def is_synced(session: Session) -> bool:
    """True when a HubSpot sync has finished at least one step into this store."""
    return (
        session.scalar(
            select(SyncCursor.object_type).where(SyncCursor.last_success_at.is_not(None)).limit(1)
        )
        is not None
    )


def markdown_table() -> str:
    """The table of docs/hubspot.md, "What `--explain` says about HubSpot"."""
    lines = ["| rules | field | what `--explain` says |", "|---|---|---|"]
    for gap in GAPS:
        rules = ", ".join(str(n) for n in gap.rules) if gap.rules else "all"
        lines.append(f"| {rules} | {gap.topic} | {gap.sentence} |")
    return "\n".join(lines)
