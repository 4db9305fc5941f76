"""Deal Insights for one viewer: evidence, CRM-derived view, AI sections, cache and audit.

``deal_insight`` is what the CLI and Slack call. It gathers the viewer's evidence first
(permissions in the SQL), then decides whether a model may be used at all (workspace
switches, a configured model), answers from the cache when the same evidence was seen
before, and records who asked what.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from insights.answer import (
    AiSections,
    CitedStatement,
    DraftStatement,
    InsightDraft,
    check_citations,
)
from insights.evidence import ActivityEvidence, DealFacts, Evidence, gather_evidence
from insights.llm import InsightUnavailable, InsightWriter
from insights.prompt import (
    ANSWER_LANGUAGE,
    PROMPT_VERSION,
    build_follow_up_prompt,
    build_prompt,
)
from insights.risks import Risk, recent_activities, risks_from_evidence
from rules.translatable import N_
from storage.models import (
    CachedInsight,
    InsightFeedback,
    InsightRequest,
    User,
    WorkspaceSettings,
)

logger = logging.getLogger(__name__)

INSIGHT_CACHE = Counter(
    "salesbot_insight_cache_total", "Deal Insights answers from the cache (hit) or not.", ["result"]
)
MODEL_FALLBACKS = Counter(
    "salesbot_model_fallbacks_total", "Insights shown from CRM data only: the model failed."
)

FEEDBACK_MAX_CHARS = 1000


class AiStatus(StrEnum):
    """Whether the AI sections are there, and if not, why."""

    USED = "used"  # the model wrote them just now
    CACHED = "cached"  # written earlier for exactly this evidence
    HIPAA = "hipaa"  # HIPAA-protected sensitive data is on: never a model call
    ANALYSIS_OFF = "analysis_off"  # the workspace's customer analysis is off
    NO_MODEL = "no_model"  # no model configured
    FAILED = "failed"  # the model failed or timed out: CRM-only view with a notice


NOTICES: dict[AiStatus, str] = {
    AiStatus.HIPAA: N_(
        "No AI summary: HIPAA-protected sensitive data is on for this workspace, so only "
        "CRM data is shown."
    ),
    AiStatus.ANALYSIS_OFF: N_(
        "No AI summary: customer analysis is off in the workspace's AI settings."
    ),
    AiStatus.NO_MODEL: N_(
        "No AI summary: no AI model is configured (set SALESBOT_LLM_API_KEY to switch it on)."
    ),
}


class DealNotVisible(LookupError):
    """The deal does not exist or the viewer may not see it (the two look the same)."""


@dataclass(frozen=True)
class DealInsight:
    """What one viewer sees about one deal.

    Attributes:
        deal: The deal's fields.
        recent: The five most recent activities the viewer may see, newest first.
        risks: Risks derived from CRM data (always present, AI or not).
        ai: The model's sections after the citation check, or None.
        ai_status: Why ``ai`` is or is not there.
        notice: One line for the user when there is no AI summary, else None.
        evidence_ids: Every activity id the viewer's evidence holds.
        activities: Those activities by id (to label and link the cited ones).
        model: The model that wrote ``ai``, if any.
        generated_at: The ``now`` of the request.
        request_id: The audit row's id (feedback refers to it).
    """

    deal: DealFacts
    recent: tuple[ActivityEvidence, ...]
    risks: tuple[Risk, ...]
    ai: AiSections | None
    ai_status: AiStatus
    notice: str | None
    evidence_ids: tuple[int, ...]
    activities: dict[int, ActivityEvidence]
    model: str | None
    generated_at: datetime
    request_id: int | None


def ai_gate(session: Session, writer: InsightWriter | None) -> AiStatus | None:
    """None when a model may be asked; otherwise the reason it may not (HIPAA first)."""
    settings = session.get(WorkspaceSettings, 1) or WorkspaceSettings(
        hipaa_sensitive_data=False, customer_analysis=True
    )
    if settings.hipaa_sensitive_data:
        return AiStatus.HIPAA
    if settings.customer_analysis is False:
        return AiStatus.ANALYSIS_OFF
    if writer is None:
        return AiStatus.NO_MODEL
    return None


@dataclass(frozen=True)
class InsightPlan:
    """What one request read, before any model call (no session is needed afterwards).

    Attributes:
        evidence: What the viewer may see about the deal.
        viewer_id: Who asked.
        gate: Why no model may be asked (HIPAA, analysis off, no model), or None.
        cached: Sections from the cache for exactly this evidence, or None.
        cache_key: The cache key (evidence fingerprint, model, prompt version, language), if
            any.
        language: The language code ("de") the model is asked to answer in.
    """

    evidence: Evidence
    viewer_id: int
    gate: AiStatus | None
    cached: AiSections | None = None
    cache_key: str | None = None
    language: str = ANSWER_LANGUAGE


@dataclass(frozen=True)
class ModelOutcome:
    """What the model phase produced: sections (or none) and why."""

    ai: AiSections | None
    status: AiStatus
    notice: str | None = None
    model: str | None = None
    dropped: int = 0


def deal_insight(
    session: Session,
    *,
    deal_id: int,
    viewer: User,
    now: datetime,
    writer: InsightWriter | None,
    source: str = "cli",
    language: str = ANSWER_LANGUAGE,
) -> DealInsight:
    """Build (or fetch from the cache) the insights ``viewer`` may see about a deal.

    The three phases in one session: ``plan_insight`` (reads), ``write_sections`` (the
    model, if allowed and not cached) and ``record_insight`` (cache and audit rows). The
    caller commits. A server that should not hold a transaction open while the model
    answers runs the phases in two units of work instead (as the Slack handlers do).

    Args:
        session: An open session.
        deal_id: The deal's primary key.
        viewer: The user asking; only what they may see is read.
        now: The moment of the request.
        writer: The configured model, or None for the CRM-only view.
        source: Where the request came from, for the audit ("cli", "slash_command", "dm").
        language: The reader's language code; the model answers in it.

    Raises:
        DealNotVisible: The deal does not exist or is not visible to ``viewer``.
    """
    plan = plan_insight(
        session, deal_id=deal_id, viewer=viewer, now=now, writer=writer, language=language
    )
    return record_insight(session, plan, write_sections(plan, writer), source=source)


def plan_insight(
    session: Session,
    *,
    deal_id: int,
    viewer: User,
    now: datetime,
    writer: InsightWriter | None,
    use_cache: bool = True,
    language: str = ANSWER_LANGUAGE,
) -> InsightPlan:
    """Read phase: the viewer's evidence, the AI gate, and a cached answer if any.

    ``language`` is the reader's: the model answers in it (CRM text stays as written), and
    the cache keeps one answer per language.

    Raises:
        DealNotVisible: The deal does not exist or is not visible to ``viewer``.
    """
    evidence = gather_evidence(session, deal_id=deal_id, viewer=viewer, now=now)
    if evidence is None:
        raise DealNotVisible(deal_id)
    gate = ai_gate(session, writer)
    if gate is not None or writer is None or not use_cache:
        return InsightPlan(evidence=evidence, viewer_id=viewer.id, gate=gate, language=language)
    key = _cache_key(evidence.fingerprint(), model=writer.model, language=language)
    cached = _cached(session, deal_id=deal_id, key=key)
    if cached is not None and not cached.cited_ids <= evidence.citable_ids:
        # Cannot happen for a row this code wrote (the key covers the evidence); a
        # tampered row is ignored rather than trusted.
        logger.warning("cached insight for deal %s cites unseen ids: ignored", deal_id)
        cached = None
    return InsightPlan(
        evidence=evidence,
        viewer_id=viewer.id,
        gate=None,
        cached=cached,
        cache_key=key,
        language=language,
    )


def write_sections(plan: InsightPlan, writer: InsightWriter | None) -> ModelOutcome:
    """Model phase (no database): ask the model only when the plan needs it.

    Failures become a ``FAILED`` outcome with a notice, never an exception.
    """
    if plan.gate is not None:
        return ModelOutcome(ai=None, status=plan.gate, notice=NOTICES[plan.gate])
    if plan.cached is not None:
        INSIGHT_CACHE.labels(result="hit").inc()
        return ModelOutcome(
            ai=plan.cached, status=AiStatus.CACHED, model=writer.model if writer else None
        )
    assert writer is not None  # no gate means a writer was given
    INSIGHT_CACHE.labels(result="miss").inc()
    try:
        ai, dropped = _ask_model(plan.evidence, writer, language=plan.language)
    except InsightUnavailable as error:
        MODEL_FALLBACKS.inc()
        notice = f"No AI summary right now: {error.reason}. Showing CRM data only."
        return ModelOutcome(ai=None, status=AiStatus.FAILED, notice=notice)
    return ModelOutcome(ai=ai, status=AiStatus.USED, model=writer.model, dropped=dropped)


def record_insight(
    session: Session, plan: InsightPlan, outcome: ModelOutcome, *, source: str
) -> DealInsight:
    """Write phase: cache a fresh answer, write the audit row; return what the user sees."""
    evidence = plan.evidence
    if outcome.status is AiStatus.USED and outcome.ai is not None and plan.cache_key:
        _store(
            session,
            deal_id=evidence.deal.id,
            key=plan.cache_key,
            model=outcome.model or "",
            ai=outcome.ai,
            now=evidence.as_of,
        )
    request = _audit(
        session,
        viewer_id=plan.viewer_id,
        evidence=evidence,
        source=source,
        status=outcome.status,
        cited=outcome.ai.cited_ids if outcome.ai else frozenset(),
        model=outcome.model if outcome.ai is not None else None,
        dropped=outcome.dropped,
    )
    return DealInsight(
        deal=evidence.deal,
        recent=tuple(recent_activities(evidence)),
        risks=tuple(risks_from_evidence(evidence)),
        ai=outcome.ai,
        ai_status=outcome.status,
        notice=outcome.notice,
        evidence_ids=tuple(sorted(evidence.citable_ids)),
        activities={a.id: a for a in (*evidence.activities, *evidence.follow_ups)},
        model=request.model,
        generated_at=evidence.as_of,
        request_id=request.id,
    )


class FollowUpDraft(BaseModel):
    """The model's answer to a follow-up question."""

    model_config = ConfigDict(extra="forbid")

    statements: list[DraftStatement]


@dataclass(frozen=True)
class FollowUpAnswer:
    """The answer to a follow-up question about a deal, from the asker's evidence.

    Attributes:
        deal: The deal's fields.
        question: The question as asked.
        statements: Cited statements (empty without AI, or when the evidence says nothing).
        ai_status: Whether a model answered, and if not, why.
        notice: One line when there is no AI answer.
        recent: The five most recent activities (shown when there is no AI answer).
        risks: The CRM-derived risks (likewise).
        activities: Every activity of the evidence by id (for links to cited ones).
        request_id: The audit row's id.
    """

    deal: DealFacts
    question: str
    statements: tuple[CitedStatement, ...]
    ai_status: AiStatus
    notice: str | None
    recent: tuple[ActivityEvidence, ...]
    risks: tuple[Risk, ...]
    activities: dict[int, ActivityEvidence]
    request_id: int | None


def answer_follow_up(
    session: Session,
    *,
    deal_id: int,
    viewer: User,
    question: str,
    now: datetime,
    writer: InsightWriter | None,
    source: str = "thread",
) -> FollowUpAnswer:
    """Answer ``question`` about a deal from the evidence ``viewer`` may see, with citations.

    The evidence is gathered afresh with the viewer's permissions (it may have changed
    since the first answer); the question is sent as the rep's words, the evidence as
    data. Same gate as ``deal_insight``: no model call under HIPAA, with customer analysis
    off, or without a model. Not cached: questions rarely repeat. Phases as in
    ``deal_insight``: ``plan_insight(use_cache=False)``, ``write_answer``,
    ``record_follow_up``.

    Raises:
        DealNotVisible: The deal does not exist or is not visible to ``viewer``.
    """
    plan = plan_insight(
        session, deal_id=deal_id, viewer=viewer, now=now, writer=writer, use_cache=False
    )
    outcome = write_answer(plan, question, writer)
    return record_follow_up(session, plan, outcome, question=question, source=source)


def write_answer(plan: InsightPlan, question: str, writer: InsightWriter | None) -> ModelOutcome:
    """Model phase of a follow-up: the answer's statements (as ``recent_activity``)."""
    if plan.gate is not None:
        return ModelOutcome(ai=None, status=plan.gate, notice=NOTICES[plan.gate])
    assert writer is not None  # no gate means a writer was given
    evidence = plan.evidence
    try:
        prompt = build_follow_up_prompt(evidence, question, language=plan.language)
        draft = writer.ask(prompt, FollowUpDraft)
    except InsightUnavailable as error:
        notice = f"No AI answer right now: {error.reason}. Showing CRM data only."
        return ModelOutcome(ai=None, status=AiStatus.FAILED, notice=notice)
    checked, dropped = check_citations(
        InsightDraft(recent_activity=draft.statements, risks=[], buyer_goals=[]),
        allowed_ids=evidence.citable_ids,
    )
    return ModelOutcome(ai=checked, status=AiStatus.USED, model=writer.model, dropped=len(dropped))


def record_follow_up(
    session: Session, plan: InsightPlan, outcome: ModelOutcome, *, question: str, source: str
) -> FollowUpAnswer:
    """Write phase of a follow-up: the audit row; return what the user sees."""
    evidence = plan.evidence
    statements = outcome.ai.recent_activity if outcome.ai is not None else ()
    request = _audit(
        session,
        viewer_id=plan.viewer_id,
        evidence=evidence,
        source=source,
        status=outcome.status,
        cited=frozenset(i for s in statements for i in s.activity_ids),
        model=outcome.model if outcome.ai is not None else None,
        dropped=outcome.dropped,
        question=" ".join(question.split())[:500],
    )
    return FollowUpAnswer(
        deal=evidence.deal,
        question=question,
        statements=statements,
        ai_status=outcome.status,
        notice=outcome.notice,
        recent=tuple(recent_activities(evidence)),
        risks=tuple(risks_from_evidence(evidence)),
        activities={a.id: a for a in (*evidence.activities, *evidence.follow_ups)},
        request_id=request.id,
    )


def link_message(session: Session, *, request_id: int, channel_id: str, ts: str) -> None:
    """Remember the Slack message that showed an answer (its thread takes follow-ups)."""
    request = session.get(InsightRequest, request_id)
    if request is not None:
        request.slack_channel_id, request.slack_ts = channel_id, ts


def deal_of_thread(
    session: Session, *, viewer: User, channel_id: str, thread_ts: str
) -> int | None:
    """The deal an answer in this thread was about, if ``viewer`` was the one who asked."""
    return session.scalar(
        select(InsightRequest.deal_id)
        .where(
            InsightRequest.slack_channel_id == channel_id,
            InsightRequest.slack_ts == thread_ts,
            InsightRequest.user_id == viewer.id,
        )
        .order_by(InsightRequest.id.desc())
        .limit(1)
    )


def asked_deal_id(session: Session, *, request_id: int, user_id: int) -> int | None:
    """The deal of the answer ``request_id`` if it was shown to ``user_id``, else None.

    Only the user an answer was shown to may open it in full or give feedback on it.
    """
    request = session.get(InsightRequest, request_id)
    if request is None or request.user_id != user_id:
        return None
    return request.deal_id


def record_feedback(
    session: Session,
    *,
    request_id: int,
    user: User,
    helpful: bool,
    comment: str | None,
    now: datetime,
) -> InsightFeedback:
    """Store Helpful / Not helpful on an answer; only the user it was shown to may give it.

    Raises:
        PermissionError: ``request_id`` is unknown or was not asked by ``user``.
    """
    if asked_deal_id(session, request_id=request_id, user_id=user.id) is None:
        raise PermissionError("no such insight for this user")
    text = " ".join((comment or "").split())[:FEEDBACK_MAX_CHARS] or None
    feedback = InsightFeedback(
        request_id=request_id, user_id=user.id, helpful=helpful, comment=text, created_at=now
    )
    session.add(feedback)
    session.flush()
    return feedback


def _audit(
    session: Session,
    *,
    viewer_id: int,
    evidence: Evidence,
    source: str,
    status: AiStatus,
    cited: frozenset[int],
    model: str | None,
    dropped: int,
    question: str | None = None,
) -> InsightRequest:
    request = InsightRequest(
        user_id=viewer_id,
        deal_id=evidence.deal.id,
        asked_at=evidence.as_of,
        source=source,
        evidence_ids=sorted(evidence.citable_ids),
        cited_ids=sorted(cited),
        fingerprint=evidence.fingerprint(),
        ai_status=status.value,
        ai_used=status is AiStatus.USED,
        model=model,
        dropped_statements=dropped,
        question=question,
    )
    session.add(request)
    session.flush()
    return request


def _cache_key(fingerprint: str, *, model: str, language: str) -> str:
    text = f"{fingerprint}|{model}|{PROMPT_VERSION}|{language}"
    return hashlib.sha256(text.encode()).hexdigest()


def _cached(session: Session, *, deal_id: int, key: str) -> AiSections | None:
    row = session.scalar(
        select(CachedInsight).where(
            CachedInsight.deal_id == deal_id, CachedInsight.fingerprint == key
        )
    )
    if row is None:
        return None
    try:
        return AiSections.from_json(row.sections)
    except (KeyError, TypeError, ValueError):
        logger.warning("unreadable cached insight %s: asking the model again", row.id)
        return None


def _ask_model(
    evidence: Evidence, writer: InsightWriter, *, language: str
) -> tuple[AiSections, int]:
    prompt = build_prompt(evidence, language=language)
    draft = writer.write(prompt)
    sections, dropped = check_citations(draft, allowed_ids=evidence.citable_ids)
    return sections, len(dropped)


def _store(
    session: Session, *, deal_id: int, key: str, model: str, ai: AiSections, now: datetime
) -> None:
    existing = session.scalar(
        select(CachedInsight).where(
            CachedInsight.deal_id == deal_id, CachedInsight.fingerprint == key
        )
    )
    if existing is not None:
        existing.sections, existing.created_at = ai.to_json(), now
        return
    row = CachedInsight(
        deal_id=deal_id,
        fingerprint=key,
        model=model,
        prompt_version=PROMPT_VERSION,
        sections=ai.to_json(),
        created_at=now,
    )
    # A concurrent request may have stored the same answer: keep theirs.
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        logger.info("insight for deal %s cached concurrently", deal_id)
