"""Risks computed from CRM data alone (no model): the view every user gets, AI or not.

Each risk points at what it comes from: an activity id, or a deal field. The manager digest
reuses ``crm_risks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from insights.evidence import ActivityEvidence, Evidence, gather_evidence
from rules.translatable import N_
from storage.models import ActivityKind, EmailDirection, User

# [choice] Thresholds, documented in docs/insights.md.
SCORE_DROP_POINTS = 10  # below the best reading of the window by at least this much
SCORE_WINDOW = timedelta(days=30)
CLOSE_DATE_NEAR = timedelta(days=7)
STALLED_AFTER = timedelta(days=30)
# Same wait as guided action 19 ("opened an email but has not replied 7 days later").
UNRESPONSIVE_AFTER = timedelta(days=7)
RECENT_COUNT = 5


class RiskKind(StrEnum):
    DECLINING_SCORE = "declining_score"
    NO_FOLLOW_UP = "no_follow_up"
    CLOSE_DATE_PASSED = "close_date_passed"
    CLOSE_DATE_NEAR = "close_date_near"
    STALLED = "stalled_in_stage"
    NO_CONTACT = "no_contact"
    BUYER_UNRESPONSIVE = "buyer_unresponsive"


@dataclass(frozen=True)
class Risk:
    """One potential problem, with where it comes from.

    Attributes:
        kind: What sort of risk.
        text: One sentence for the user.
        activity_id: The activity it rests on, if any.
        field: The deal field it rests on (e.g. ``close_date``), if any.
        template: ``text`` before its values were filled in (marked for the catalogues, so
            a reader's language can translate it, then fill in ``values``).
        values: The template's values: ``days`` a number of days, dates as ``date``.
    """

    kind: RiskKind
    text: str
    activity_id: int | None = None
    field: str | None = None
    template: str = ""
    values: tuple[tuple[str, str | int | date], ...] = ()


def _risk(
    kind: RiskKind,
    template: str,
    *,
    activity_id: int | None = None,
    field: str | None = None,
    **values: str | int | date,
) -> Risk:
    """A risk whose English ``text`` is ``template`` filled in (days as "3 days")."""
    english = {k: _days(v) if k == "days" and isinstance(v, int) else v for k, v in values.items()}
    english = {k: v.isoformat() if isinstance(v, date) else v for k, v in english.items()}
    return Risk(
        kind,
        template.format(**english),
        activity_id=activity_id,
        field=field,
        template=template,
        values=tuple(values.items()),
    )


def crm_risks(session: Session, *, deal_id: int, viewer: User, now: datetime) -> list[Risk]:
    """The CRM-derived risks of a deal, as ``viewer`` may see them.

    Args:
        session: An open session (only read from).
        deal_id: The deal's primary key.
        viewer: Whose permissions apply (activities they may not see are not used).
        now: The moment the risks are judged at.

    Returns:
        The risks, most pressing first; empty when the deal is not visible to ``viewer``.
    """
    evidence = gather_evidence(session, deal_id=deal_id, viewer=viewer, now=now)
    return risks_from_evidence(evidence) if evidence is not None else []


def recent_activities(evidence: Evidence, count: int = RECENT_COUNT) -> list[ActivityEvidence]:
    """The ``count`` most recent activities of the evidence, newest first."""
    return list(evidence.activities[:count])


def risks_from_evidence(evidence: Evidence) -> list[Risk]:
    """Risks of the deal judged at ``evidence.as_of``; a closed deal has none."""
    deal = evidence.deal
    if not deal.is_open:
        return []
    now = evidence.as_of
    risks: list[Risk] = []
    today = now.date()
    if deal.close_date is not None and deal.close_date < today:
        days = (today - deal.close_date).days
        risks.append(
            _risk(
                RiskKind.CLOSE_DATE_PASSED,
                N_("Close date {date} passed {days} ago and the deal is still open."),
                field="close_date",
                date=deal.close_date,
                days=days,
            )
        )
    elif deal.close_date is not None and deal.close_date <= (now + CLOSE_DATE_NEAR).date():
        days = (deal.close_date - today).days
        template = (
            N_("Close date {date} is today and the deal is still open.")
            if days == 0
            else N_("Close date {date} is in {days} and the deal is still open.")
        )
        risks.append(
            _risk(
                RiskKind.CLOSE_DATE_NEAR,
                template,
                field="close_date",
                date=deal.close_date,
                days=days,
            )
        )
    declining = _declining_score(evidence)
    if declining is not None:
        risks.append(declining)
    if not evidence.follow_ups:
        risks.append(
            _risk(
                RiskKind.NO_FOLLOW_UP,
                N_("No follow-up scheduled: no open task or upcoming meeting on this deal."),
                field="follow_ups",
            )
        )
    unresponsive = _unresponsive_buyer(evidence)
    if unresponsive is not None:
        risks.append(unresponsive)
    if deal.stage_changed_at is not None and now - deal.stage_changed_at >= STALLED_AFTER:
        days = (now - deal.stage_changed_at).days
        risks.append(
            _risk(
                RiskKind.STALLED,
                N_("Stalled: in stage “{stage}” for {days}."),
                field="stage",
                stage=deal.stage,
                days=days,
            )
        )
    if not deal.contacts:
        risks.append(
            _risk(
                RiskKind.NO_CONTACT,
                N_("No contact is associated with this deal."),
                field="contacts",
            )
        )
    return risks


def _declining_score(evidence: Evidence) -> Risk | None:
    window = [s for s in evidence.scores if s.recorded_at >= evidence.as_of - SCORE_WINDOW]
    if len(window) < 2:
        return None
    latest = window[-1]
    peak = max(window[:-1], key=lambda s: s.score)
    if peak.score - latest.score < SCORE_DROP_POINTS:
        return None
    return _risk(
        RiskKind.DECLINING_SCORE,
        N_("Deal score fell from {peak} ({peak_date}) to {latest} ({latest_date})."),
        field="deal_score",
        peak=peak.score,
        peak_date=peak.recorded_at.date(),
        latest=latest.score,
        latest_date=latest.recorded_at.date(),
    )


def _unresponsive_buyer(evidence: Evidence) -> Risk | None:
    """The newest sent email the buyer opened long enough ago without replying."""
    for activity in evidence.activities:
        if (
            activity.kind is ActivityKind.EMAIL
            and activity.direction is EmailDirection.OUTGOING
            and activity.opened_at is not None
            and activity.replied_at is None
            and evidence.as_of - activity.opened_at >= UNRESPONSIVE_AFTER
            and not _answered_later(evidence, activity)
        ):
            days = (evidence.as_of - activity.opened_at).days
            return _risk(
                RiskKind.BUYER_UNRESPONSIVE,
                N_("Buyer opened “{title}” {days} ago and has not replied."),
                activity_id=activity.id,
                title=activity.title,
                days=days,
            )
    return None


def _answered_later(evidence: Evidence, email: ActivityEvidence) -> bool:
    """An incoming email after ``email`` counts as an answer even if not threaded."""
    return any(
        a.kind is ActivityKind.EMAIL
        and a.direction is EmailDirection.INCOMING
        and a.occurred_at > email.occurred_at
        for a in evidence.activities
    )


def _days(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"
