"""Writes on meetings and calls: logging their outcome.

Same contract as ``rules.tasks.ops``: the actor is re-authorised on every call, a repeated
call changes nothing and says who logged it and when, and the caller commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from rules.clock import user_zone
from rules.meetings import wording as say
from rules.meetings.wording import MEETING_OUTCOME_LABELS
from rules.op_result import (
    OpResult,
    already,
    done,
    invalid,
    not_found,
    parse_id,
    refused_change,
)
from rules.permissions import can_act_for, can_view_activity
from rules.translatable import Param, Phrase, phrase
from rules.wording import QUOTED, describe_moment, done_by, person
from rules.write_hooks import record_write
from storage.changes import last_change
from storage.models import (
    Activity,
    ActivityKind,
    CallStatus,
    ChangeKind,
    MeetingOutcome,
    OwnedObject,
    User,
)

# HubSpot's default call dispositions (a portal can define others; any label up to 64 chars).
CALL_DISPOSITIONS = (
    "Connected",
    "Left live message",
    "Left voicemail",
    "No answer",
    "Busy",
    "Wrong number",
)

DISPOSITION_MAX = 64
CALL_NOTES_MAX = 10_000


def log_meeting_outcome(
    session: Session, actor: User, meeting_id: object, *, outcome: object, now: datetime
) -> OpResult:
    """Set a meeting's outcome (a :class:`MeetingOutcome` value); only once it has started.

    Args:
        session: The unit of work (the caller commits).
        actor: Who clicked.
        meeting_id: The meeting's id from the payload.
        outcome: The chosen value from the payload (``"completed"``, ``"no_show"``...).
        now: The time of the click.

    Returns:
        DONE; ALREADY when the meeting already has that outcome (with who logged it, when
        known); or a refusal, with nothing changed.
    """
    try:
        value = MeetingOutcome(outcome) if isinstance(outcome, str) else None
    except ValueError:
        value = None
    if value is None:
        return invalid(say.PICK_MEETING_OUTCOME, field="outcome")
    meeting, refusal = _load(session, actor, meeting_id, ActivityKind.MEETING, now)
    if meeting is None:
        assert refusal is not None
        return refusal
    if meeting.starts_at is not None and meeting.starts_at > now:
        return invalid(say.MEETING_NOT_STARTED, meeting.id)
    label = phrase(MEETING_OUTCOME_LABELS[value])
    if meeting.outcome == value.value:
        return _already_logged(session, actor, meeting, label, now)
    return _write_outcome(session, actor, meeting, {"outcome": value.value}, label, now)


def log_call_outcome(
    session: Session,
    actor: User,
    call_id: object,
    *,
    disposition: object,
    status: object = None,
    notes: object = None,
    now: datetime,
) -> OpResult:
    """Set a call's disposition label (e.g. "Connected") and, optionally, its status and
    notes.

    Args:
        session: The unit of work.
        actor: Who clicked.
        call_id: The call's id from the payload.
        disposition: The outcome label (1 to 64 characters).
        status: A :class:`CallStatus` value, or None to keep the call's status.
        notes: The call's notes (plain text; ``""`` clears them), or None to keep them.
        now: The time of the click.
    """
    values, problem = _call_outcome_values(disposition, status, notes)
    if problem is not None:
        return problem
    label = str(values["outcome"])
    call, refusal = _load(session, actor, call_id, ActivityKind.CALL, now)
    if call is None:
        assert refusal is not None
        return refusal
    if call.starts_at is not None and call.starts_at > now:
        return invalid(say.CALL_NOT_HAPPENED, call.id)
    changed = {name: value for name, value in values.items() if getattr(call, name) != value}
    if not changed:
        return _already_logged(session, actor, call, label, now)
    return _write_outcome(session, actor, call, changed, label, now)


def _call_outcome_values(
    disposition: object, status: object, notes: object
) -> tuple[dict[str, object], OpResult | None]:
    """The columns a call outcome form sets (outcome, and status and body when given)."""
    label = disposition.strip() if isinstance(disposition, str) else ""
    if not label or len(label) > DISPOSITION_MAX:
        return {}, invalid(say.PICK_CALL_OUTCOME, field="disposition")
    values: dict[str, object] = {"outcome": label}
    if status is not None and status != "":
        try:
            values["call_status"] = CallStatus(status) if isinstance(status, str) else None
        except ValueError:
            values["call_status"] = None
        if values["call_status"] is None:
            return {}, invalid(say.PICK_CALL_STATUS, field="status")
    if notes is not None:
        text = notes.strip() if isinstance(notes, str) else ""
        if len(text) > CALL_NOTES_MAX:
            return {}, invalid(say.NOTES_TOO_LONG, field="notes", count=CALL_NOTES_MAX)
        values["body"] = text or None
    return values, None


def _load(
    session: Session, actor: User, raw_id: object, kind: ActivityKind, now: datetime
) -> tuple[Activity | None, OpResult | None]:
    del now
    noun = kind.value
    activity_id = parse_id(raw_id)
    if activity_id is None:
        return None, invalid(say.NO_ID[noun])
    activity = session.get(Activity, activity_id)
    if activity is None or activity.kind is not kind:
        return None, not_found(noun, activity_id)
    if not can_act_for(session, actor, activity.owner_id):
        return None, refused_change(
            session,
            actor,
            sentences=say.CANT_CHANGE[noun],
            noun=noun,
            record_id=activity_id,
            owner_id=activity.owner_id,
            visible=can_view_activity(session, actor, activity_id),
        )
    return activity, None


def _already_logged(
    session: Session, actor: User, activity: Activity, label: Param, now: datetime
) -> OpResult:
    row = last_change(
        session,
        object_type=OwnedObject.ACTIVITY,
        object_id=activity.id,
        kind=ChangeKind.OUTCOME_LOGGED,
    )
    subject = _named(activity, opening=True)
    if row is None:  # set by the CRM import, not from Slack: we don't know who
        return already(say.ALREADY_LOGGED, activity.id, activity=subject, label=label)
    return already(
        say.ALREADY_LOGGED_BY,
        activity.id,
        by_name=person(session, row.actor_id, actor=actor),
        at=row.at,
        activity=subject,
        label=label,
        by=done_by(session, row.actor_id, actor=actor),
        when=describe_moment(row.at, user_zone(session, actor), now=now),
    )


def _named(activity: Activity, *, opening: bool) -> Phrase:
    """The activity's quoted subject, else its kind: "This meeting" opening a sentence,
    "the call" inside one."""
    if activity.subject:
        return phrase(QUOTED, subject=activity.subject)
    return phrase((say.THIS_ONE if opening else say.THE_ONE)[activity.kind.value])


def _write_outcome(
    session: Session,
    actor: User,
    activity: Activity,
    values: dict[str, object],
    label: Param,
    now: datetime,
) -> OpResult:
    seen = {name: getattr(activity, name) for name in values}
    for name, value in values.items():
        setattr(activity, name, value)
    activity.updated_at = now
    record_write(
        session,
        object_type=OwnedObject.ACTIVITY,
        object_id=activity.id,
        external_id=activity.external_id,
        kind=ChangeKind.OUTCOME_LOGGED,
        actor_id=actor.id,
        at=now,
        # The notes themselves stay out of the change log: only that they changed.
        detail={k: str(v) if k != "body" else True for k, v in values.items()},
        changes={name: (seen[name], value) for name, value in values.items()},
    )
    subject = _named(activity, opening=False)
    return done(say.LOGGED, activity.id, label=label, activity=subject)


def meeting_for_outcome(
    session: Session, actor: User, meeting_id: object, *, now: datetime
) -> tuple[Activity | None, OpResult | None]:
    """The meeting if ``actor`` may log its outcome now; else None and the refusal."""
    meeting, refusal = _load(session, actor, meeting_id, ActivityKind.MEETING, now)
    if meeting is not None and meeting.starts_at is not None and meeting.starts_at > now:
        return None, invalid(say.MEETING_NOT_STARTED)
    return meeting, refusal


def call_for_outcome(
    session: Session, actor: User, call_id: object, *, now: datetime
) -> tuple[Activity | None, OpResult | None]:
    """The call if ``actor`` may log its outcome; else None and the refusal."""
    return _load(session, actor, call_id, ActivityKind.CALL, now)
