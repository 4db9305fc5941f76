"""Writes on deals: update stage, close date, next step and amount; create a deal.

The actor must be able to see the deal (``can_view_deal``) and to act for its owner
(``can_act_for``); a stage must belong to the deal's own pipeline. The caller commits.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.deals import wording as say
from rules.op_result import (
    OpResult,
    already,
    done,
    forbidden,
    invalid,
    not_found,
    parse_id,
    refused_change,
)
from rules.permissions import can_act_for, can_view_deal
from rules.shown_values import fingerprints, moved, touched
from rules.translatable import Day, Phrase, phrase
from rules.write_hooks import record_write
from storage.models import (
    ChangeKind,
    Deal,
    OwnedObject,
    Pipeline,
    PipelineObject,
    PipelineStage,
    StageState,
    User,
)
from storage.ownership import assign

NAME_MAX = 300
NEXT_STEP_MAX = 5_000
AMOUNT_MAX = Decimal("999999999999.99")


@dataclass(frozen=True)
class DealChange:
    """What to change on a deal; None leaves a field as it is (``next_step=""`` and
    ``amount=""`` clear it). ``amount`` is the form's text (``parse_amount``) or a number.

    ``shown``: the :func:`update_fingerprints` of the form the values come from (None: no
    form). With it, fields left as shown are not written, and a field someone changed since
    the form opened is not overwritten (``rules.shown_values``). ``next_step_limit``: how
    much of the next step the form could show.
    """

    stage_id: object = None
    close_date: date | None = None
    next_step: str | None = None
    amount: object = None
    shown: Mapping[str, str] | None = None
    next_step_limit: int = NEXT_STEP_MAX


def update_fingerprints(deal: Deal, *, next_step_limit: int = NEXT_STEP_MAX) -> dict[str, str]:
    """What an update form shows of ``deal``, fingerprinted for :attr:`DealChange.shown`."""
    return fingerprints(
        {
            "stage": deal.stage_id,
            "close_date": deal.close_date,
            "next_step": (deal.next_step or "")[:next_step_limit],
            "amount": deal.amount,
        }
    )


def _as_touched(deal: Deal, change: DealChange) -> DealChange | None:
    """``change`` without the fields left as the form showed them; None when a field the
    user changed was changed by someone else since the form opened."""
    assert change.shown is not None
    given: dict[str, object] = {
        "stage": change.stage_id,
        "close_date": change.close_date,
        "next_step": change.next_step,
        "amount": _amount_as_shown(change.amount),
    }
    mine = touched({name: v for name, v in given.items() if v is not None}, change.shown)
    now_shown = update_fingerprints(deal, next_step_limit=change.next_step_limit)
    if moved(mine, change.shown, now_shown):
        return None
    return replace(
        change,
        stage_id=mine.get("stage"),
        close_date=mine.get("close_date"),
        next_step=mine.get("next_step"),
        amount=change.amount if "amount" in mine else None,
    )


def _amount_as_shown(raw: object) -> object:
    """The form's amount as a number to compare with what it showed (junk stays as typed,
    so that it counts as changed and is refused where amounts are checked)."""
    if raw is None:
        return None
    try:
        return parse_amount(raw) or ""
    except ValueError:
        return raw


@dataclass(frozen=True)
class DealDraft:
    """A new deal, owned by the actor. ``stage_id`` None: the default pipeline's first stage."""

    name: str
    stage_id: object = None
    amount: object = None
    close_date: date | None = None


def update_deal(
    session: Session, actor: User, deal_id: object, *, change: DealChange, now: datetime
) -> OpResult:
    """Apply a :class:`DealChange` to a deal.

    Entering a closed stage sets ``closed_at``; going back to an open stage clears it. A
    stage change sets ``stage_changed_at``; a next-step change sets ``next_step_updated_at``.

    Args:
        session: The unit of work (the caller commits).
        actor: Who submitted the change.
        deal_id: The deal's id from the payload.
        change: The fields to change.
        now: The time of the submission.

    Returns:
        DONE, ALREADY when nothing differs, or a refusal with nothing changed.
    """
    deal, refusal = load_deal_for(session, actor, deal_id)
    if deal is None:
        assert refusal is not None
        return refusal
    if change.shown is not None:
        mine = _as_touched(deal, change)
        if mine is None:
            return invalid(say.CHANGED_SINCE_SHOWN, deal.id, deal=deal.name)
        change = mine
    values = _changed_values(session, deal, change)
    if isinstance(values, OpResult):
        return values
    if not values:
        return already(say.NOTHING_TO_CHANGE, deal.id, deal=deal.name)
    detail, changes = _apply(deal, values, now)
    record_write(
        session,
        object_type=OwnedObject.DEAL,
        object_id=deal.id,
        external_id=deal.external_id,
        kind=ChangeKind.STAGE_CHANGED if "stage" in values else ChangeKind.UPDATED,
        actor_id=actor.id,
        at=now,
        detail=detail,
        changes=changes,
    )
    return done(
        say.UPDATED,
        deal.id,
        deal=deal.name,
        changes=_changed_parts(values, this_year=now.year, currency=deal.currency),
    )


def _changed_values(session: Session, deal: Deal, change: DealChange) -> dict[str, Any] | OpResult:
    """The fields ``change`` really changes ("stage", "close_date", "next_step"), or a refusal."""
    values: dict[str, Any] = {}
    if change.stage_id is not None:
        stage = _stage_in_pipeline(session, change.stage_id, deal.pipeline_id)
        if stage is None:
            return invalid(say.PICK_PIPELINE_STAGE, deal.id, field="stage_id")
        if stage.id != deal.stage_id:
            values["stage"] = stage
    if change.close_date is not None and change.close_date != deal.close_date:
        values["close_date"] = change.close_date
    if change.next_step is not None:
        next_step = change.next_step.strip() or None
        if next_step is not None and len(next_step) > NEXT_STEP_MAX:
            return invalid(say.NEXT_STEP_TOO_LONG, deal.id, field="next_step", count=NEXT_STEP_MAX)
        if next_step != deal.next_step:
            values["next_step"] = next_step
    if change.amount is not None:
        amount = _new_amount(deal, change.amount)
        if isinstance(amount, OpResult):
            return amount
        values |= amount
    return values


def _new_amount(deal: Deal, raw: object) -> dict[str, Decimal | None] | OpResult:
    """{"amount": the new amount} when ``raw`` changes it, {} when not, or a refusal."""
    try:
        amount = parse_amount(raw)
    except ValueError:
        return invalid(say.BAD_AMOUNT, deal.id, field="amount")
    return {"amount": amount} if amount != deal.amount else {}


def _apply(
    deal: Deal, values: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], dict[str, tuple[object, object]]]:
    """Write the changed fields and their timestamps; return the change log's detail and the
    (old, new) value of each changed column, which write-back sends to the CRM."""
    detail: dict[str, Any] = {}
    changes: dict[str, tuple[object, object]] = {}
    if "stage" in values:
        stage = values["stage"]
        detail["stage"] = stage.external_id
        changes["stage_id"] = (deal.stage_id, stage.id)
        was_open = deal.stage.state is StageState.OPEN
        deal.stage_id = stage.id
        deal.stage = stage
        deal.stage_changed_at = now
        if stage.state is not StageState.OPEN and (was_open or deal.closed_at is None):
            deal.closed_at = now
        elif stage.state is StageState.OPEN:
            deal.closed_at = None
    if "close_date" in values:
        changes["close_date"] = (deal.close_date, values["close_date"])
        deal.close_date = values["close_date"]
        detail["close_date"] = deal.close_date.isoformat() if deal.close_date else None
    if "next_step" in values:
        changes["next_step"] = (deal.next_step, values["next_step"])
        deal.next_step = values["next_step"]
        deal.next_step_updated_at = now
        detail["next_step"] = True
    if "amount" in values:
        changes["amount"] = (deal.amount, values["amount"])
        deal.amount = values["amount"]
        detail["amount"] = str(deal.amount) if deal.amount is not None else None
    return detail, changes


def _changed_parts(values: dict[str, Any], *, this_year: int, currency: str) -> tuple[Phrase, ...]:
    """What changed, for the confirmation ("stage Closed won, close date Tue 31 Mar")."""
    parts = []
    if "stage" in values:
        parts.append(phrase(say.CHANGED_STAGE, stage=values["stage"].label))
    if "close_date" in values:
        closes = values["close_date"]
        day = Day(closes, with_year=closes.year != this_year)
        parts.append(phrase(say.CHANGED_CLOSE_DATE, day=day))
    if "next_step" in values:
        parts.append(phrase(say.CHANGED_NEXT_STEP))
    if "amount" in values:
        amount = values["amount"]
        parts.append(
            phrase(say.CHANGED_AMOUNT_REMOVED)
            if amount is None
            else phrase(say.CHANGED_AMOUNT, amount=amount, currency=currency)
        )
    return tuple(parts)


def create_deal(session: Session, actor: User, draft: DealDraft, *, now: datetime) -> OpResult:
    """Create a deal owned by the actor, in a stage of its pipeline (default: the first
    stage of the default deal pipeline)."""
    if not actor.is_active:
        return forbidden(say.INACTIVE_ACTOR)
    name = draft.name.strip() if isinstance(draft.name, str) else ""
    if not name:
        return invalid(say.NEEDS_NAME, field="name")
    if len(name) > NAME_MAX:
        return invalid(say.NAME_TOO_LONG, field="name", count=NAME_MAX)
    try:
        amount = parse_amount(draft.amount)
    except ValueError:
        return invalid(say.BAD_AMOUNT, field="amount")
    if draft.stage_id is None:
        stage = _default_first_stage(session)
        if stage is None:
            return invalid(say.NO_PIPELINE)
    else:
        stage = _deal_stage(session, draft.stage_id)
        if stage is None:
            return invalid(say.PICK_STAGE, field="stage_id")
    deal = Deal(
        external_id=f"salesbot-{uuid.uuid4().hex}",
        name=name,
        pipeline_id=stage.pipeline_id,
        stage_id=stage.id,
        stage_changed_at=now,
        amount=amount,
        close_date=draft.close_date,
        created_at=now,
        closed_at=None if stage.state is StageState.OPEN else now,
    )
    session.add(deal)
    session.flush()
    assign(session, deal, actor.id, at=now)
    record_write(
        session,
        object_type=OwnedObject.DEAL,
        object_id=deal.id,
        external_id=deal.external_id,
        kind=ChangeKind.CREATED,
        actor_id=actor.id,
        at=now,
    )
    return done(say.CREATED, deal.id, deal=deal.name, stage=stage.label)


def deal_stages(session: Session, deal: Deal) -> list[PipelineStage]:
    """The stages a deal may move to: those of its own pipeline, in pipeline order."""
    return list(
        session.scalars(
            select(PipelineStage)
            .where(PipelineStage.pipeline_id == deal.pipeline_id)
            .order_by(PipelineStage.display_order)
        )
    )


def all_deal_stages(session: Session) -> list[PipelineStage]:
    """Every deal pipeline's stages (for the create-deal modal), pipeline by pipeline."""
    return list(
        session.scalars(
            select(PipelineStage)
            .join(Pipeline, Pipeline.id == PipelineStage.pipeline_id)
            .where(Pipeline.object_type == PipelineObject.DEAL)
            .order_by(Pipeline.id, PipelineStage.display_order)
        )
    )


def load_deal_for(
    session: Session, actor: User, raw_id: object
) -> tuple[Deal | None, OpResult | None]:
    """The deal ``raw_id`` names, if ``actor`` may change it; else None and the refusal."""
    deal_id = parse_id(raw_id)
    if deal_id is None:
        return None, invalid(say.NO_DEAL_ID)
    # One answer for "no such deal" and "a deal you may not see": don't confirm it exists.
    if not can_view_deal(session, actor, deal_id):
        return None, not_found("deal", deal_id)
    deal = session.get(Deal, deal_id)
    if deal is None:
        return None, not_found("deal", deal_id)
    if not can_act_for(session, actor, deal.owner_id):
        return None, refused_change(
            session,
            actor,
            sentences=say.CANT_CHANGE,
            noun="deal",
            record_id=deal.id,
            owner_id=deal.owner_id,
            visible=True,  # checked above: an invisible deal is "not found"
        )
    return deal, None


def _stage_in_pipeline(session: Session, raw_id: object, pipeline_id: int) -> PipelineStage | None:
    stage_id = parse_id(raw_id)
    if stage_id is None:
        return None
    stage = session.get(PipelineStage, stage_id)
    return stage if stage is not None and stage.pipeline_id == pipeline_id else None


def _deal_stage(session: Session, raw_id: object) -> PipelineStage | None:
    stage_id = parse_id(raw_id)
    if stage_id is None:
        return None
    stage = session.get(PipelineStage, stage_id)
    if stage is None or stage.pipeline.object_type is not PipelineObject.DEAL:
        return None
    return stage


def _default_first_stage(session: Session) -> PipelineStage | None:
    return session.scalar(
        select(PipelineStage)
        .join(Pipeline, Pipeline.id == PipelineStage.pipeline_id)
        .where(Pipeline.object_type == PipelineObject.DEAL)
        .order_by(Pipeline.external_id != "default", Pipeline.id, PipelineStage.display_order)
        .limit(1)
    )


# Marks people put between thousands besides "." and ",": spaces (also Unicode's narrow
# ones) and apostrophes ("185 000", "185'000").
_SPACING = "[ \u00a0\u202f'\u2019]"
_SPACED = re.compile(rf"[0-9]{{1,3}}(?:{_SPACING}[0-9]{{3}})+(?:[.,][0-9]+)?")
_DIGITS_AND_MARKS = re.compile(r"[0-9][0-9.,]*")


def parse_amount(raw: object) -> Decimal | None:
    """An amount from a form, None when empty; ValueError when unusable or out of range.

    Tolerates how people write amounts in English and German: "185000", "185,000.50",
    "185.000,50", "185 000", "12,5". With both "." and "," the last one is the decimal
    mark. With only one of them, once and followed by exactly three digits, it separates
    thousands ("185.000" and "185,000" are both 185000); otherwise it is the decimal mark.
    At most two decimals; 0 to ``AMOUNT_MAX``.
    """
    if isinstance(raw, bool):
        raise ValueError(f"not an amount: {raw!r}")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, (int, Decimal)):
        value = Decimal(raw)
    else:
        value = Decimal(_canonical_amount(str(raw)))
    if not value.is_finite() or value < 0 or value > AMOUNT_MAX:
        raise ValueError(f"amount out of range: {raw!r}")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"more than two decimals: {raw!r}")
    return value.quantize(Decimal("0.01"))


def _canonical_amount(text: str) -> str:
    """``text`` as a plain decimal ("185000.50"); ValueError when it is not an amount."""
    text = text.strip()
    if _SPACED.fullmatch(text):
        text = re.sub(_SPACING, "", text)
    if not _DIGITS_AND_MARKS.fullmatch(text) or text[-1] in ".,":
        raise ValueError(f"not an amount: {text!r}")
    marks = [mark for mark in ".," if mark in text]
    if len(marks) == 2:
        decimal_mark = max(marks, key=text.rindex)
    elif marks and text.count(marks[0]) == 1 and len(text.rsplit(marks[0], 1)[1]) != 3:
        decimal_mark = marks[0]
    else:
        decimal_mark = ""  # none, or only thousands separators
    whole, _sep, fraction = text.rpartition(decimal_mark) if decimal_mark else (text, "", "")
    if decimal_mark and decimal_mark in whole:
        raise ValueError(f"two decimal marks: {text!r}")
    groups = re.split(r"[.,]", whole)
    if len(groups) > 1 and (
        not 1 <= len(groups[0]) <= 3
        or groups[0].startswith("0")
        or any(len(group) != 3 for group in groups[1:])
    ):
        raise ValueError(f"misplaced thousands separator: {text!r}")
    return "".join(groups) + (f".{fraction}" if fraction else "")
