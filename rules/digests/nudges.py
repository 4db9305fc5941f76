"""Nudges: a DM the moment a high-value guided action appears, within the rep's budget.

Three kinds, each switched on per rep in ``/sales settings`` (nudges are opt-in):

- **a buyer replied**: rules 5, 9, 10, 11 (a reply or email waiting for you);
- **a meeting in 30 minutes needs preparation**: rule 12, once its meeting starts within
  30 minutes;
- **a deal risk appeared**: rules 17, 18, 19 (no contact, no outreach, a buyer gone quiet)
  [choice: the deal risks among the guided actions].

Budget, in the rep's own zone: nothing in quiet hours (default 19:00-08:00) or on weekends
(unless chosen); at most ``max_per_day`` DMs a day (default 5), where the actions that arise
together go in one DM; an action older than ``FRESH_FOR`` when it could first be nudged is
left to the digest; an action a digest sent within the last hour already showed is never
nudged; a kind the rep sank with "Not really"/"Fewer like this" (the ranking's rule) is not
nudged. Each action is nudged at most once: its claim row is unique per action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from rules.clock import local_date, parse_zone
from rules.guided_actions import RULES_BY_TYPE, ActionType
from rules.guided_actions.service import type_preferences
from rules.translatable import N_
from storage.models import (
    ActionState,
    Activity,
    DeliveryStatus,
    DigestDelivery,
    DigestKind,
    GuidedAction,
    GuidedActionItem,
    NudgeClaim,
    NudgeSettings,
    NudgeStatus,
    User,
    UserPreferences,
)
from storage.types import utc

FRESH_FOR = timedelta(hours=2)
MEETING_LEAD = timedelta(minutes=30)
DIGEST_COVERS = timedelta(hours=1)
DEFAULT_MAX_PER_DAY = 5
MAX_PER_DAY_LIMIT = 20


class NudgeKind(StrEnum):
    BUYER_REPLIED = "buyer_replied"
    MEETING_SOON = "meeting_soon"
    DEAL_RISK = "deal_risk"


# Translated where shown (handlers.render.nudges, the settings modal).
KIND_LABELS = {
    NudgeKind.BUYER_REPLIED: N_("A buyer replied"),
    NudgeKind.MEETING_SOON: N_("A meeting in 30 minutes needs preparation"),
    NudgeKind.DEAL_RISK: N_("A deal risk appeared"),
}
# A real settings modal offers only valid choices: these answer a garbled submission.
PICK_KINDS = N_("Pick the nudge kinds from the list.")
PICK_LIMIT = N_("Pick a daily limit from the list.")
T = ActionType
KIND_OF_TYPE: dict[ActionType, NudgeKind] = {
    T.EMAIL_REPLIES: NudgeKind.BUYER_REPLIED,
    T.CONTACTS_AWAITING_REPLY: NudgeKind.BUYER_REPLIED,
    T.REPLY_TO_EMAIL: NudgeKind.BUYER_REPLIED,
    T.LEADS_AWAITING_REPLY: NudgeKind.BUYER_REPLIED,
    T.PREPARE_FOR_MEETING: NudgeKind.MEETING_SOON,
    T.ADD_CONTACT_TO_DEAL: NudgeKind.DEAL_RISK,
    T.INITIAL_OUTREACH: NudgeKind.DEAL_RISK,
    T.FOLLOW_UP_WITH_BUYER: NudgeKind.DEAL_RISK,
}


@dataclass(frozen=True)
class NudgePrefs:
    """A rep's nudge choices; the defaults (no kind on) mean no nudges."""

    kinds: tuple[str, ...] = ()
    quiet_start: time = time(19, 0)
    quiet_end: time = time(8, 0)
    weekends: bool = False
    max_per_day: int = DEFAULT_MAX_PER_DAY

    def quiet_at(self, local: datetime) -> bool:
        """Whether ``local`` (the rep's wall clock) is in quiet hours or an unwanted weekend."""
        if not self.weekends and local.isoweekday() >= 6:
            return True
        now, start, end = local.time().replace(tzinfo=None), self.quiet_start, self.quiet_end
        if start == end:
            return False
        if start < end:
            return start <= now < end
        return now >= start or now < end  # wraps past midnight


def load_nudge_prefs(session: Session, *, user_id: int) -> NudgePrefs:
    row = session.get(NudgeSettings, user_id)
    if row is None:
        return NudgePrefs()
    return NudgePrefs(
        kinds=tuple(k for k in row.kinds or () if k in set(NudgeKind)),
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        weekends=bool(row.weekends),
        max_per_day=row.max_per_day,
    )


def nudge_pref_problems(prefs: NudgePrefs) -> dict[str, str]:
    """Field name -> what is wrong; empty when the choices can be saved."""
    problems: dict[str, str] = {}
    unknown = sorted(set(prefs.kinds) - set(NudgeKind))
    if unknown:
        problems["nudge_kinds"] = PICK_KINDS
    if not 1 <= prefs.max_per_day <= MAX_PER_DAY_LIMIT:
        problems["nudge_max_per_day"] = PICK_LIMIT
    return problems


def save_nudge_prefs(session: Session, *, user_id: int, prefs: NudgePrefs, now: datetime) -> None:
    """Store ``prefs`` (the caller validated them and commits)."""
    row = session.get(NudgeSettings, user_id)
    if row is None:
        row = NudgeSettings(user_id=user_id)
        session.add(row)
    row.kinds = sorted(set(prefs.kinds))
    row.quiet_start, row.quiet_end = prefs.quiet_start, prefs.quiet_end
    row.weekends = prefs.weekends
    row.max_per_day = prefs.max_per_day
    row.updated_at = utc(now)
    session.flush()


@dataclass(frozen=True)
class NudgeLine:
    """One action in a nudge, with what the digest shows of it."""

    action_id: int
    kind: NudgeKind
    title: str
    call_to_action: str
    category: str
    title_template: str = ""  # as ActionView's: translated, then formatted with title_value
    title_value: int | str = ""


@dataclass(frozen=True)
class Nudge:
    """One DM to send: the actions claimed for it together."""

    user_id: int
    slack_user_id: str
    bundle: str
    lines: tuple[NudgeLine, ...] = field(default_factory=tuple)


def claim_nudges(session: Session, *, now: datetime) -> list[Nudge]:
    """Claim, for every opted-in rep, the actions to nudge about at ``now``; the caller
    commits (then sends, then records the outcome with ``record_sent``/``record_failed``).

    Only claims that took effect are returned, so two replicas never send the same action.
    """
    now = utc(now)
    reps = session.execute(
        select(NudgeSettings, User.slack_user_id, User.timezone, UserPreferences)
        .join(User, User.id == NudgeSettings.user_id)
        .outerjoin(UserPreferences, UserPreferences.user_id == User.id)
        .where(User.is_active.is_(True), User.slack_user_id.is_not(None))
    ).all()
    nudges = []
    for row, slack_user_id, zone_name, user_prefs in reps:
        prefs = load_nudge_prefs(session, user_id=row.user_id)
        if not prefs.kinds:
            continue
        override = user_prefs.timezone_override if user_prefs is not None else None
        zone = parse_zone(override) or parse_zone(zone_name) or ZoneInfo("UTC")
        if prefs.quiet_at(now.astimezone(zone)):
            continue
        muted = set(user_prefs.muted_action_types or []) if user_prefs is not None else set()
        nudge = _claim_for(session, row.user_id, str(slack_user_id), prefs, muted, zone, now)
        if nudge is not None:
            nudges.append(nudge)
    return nudges


def _claim_for(
    session: Session,
    user_id: int,
    slack_user_id: str,
    prefs: NudgePrefs,
    muted: set[str],
    zone: ZoneInfo,
    now: datetime,
) -> Nudge | None:
    candidates = _candidates(session, user_id, prefs, muted, now)
    if not candidates:
        return None
    today = local_date(zone, now)
    digest_sent = session.scalar(
        select(func.max(DigestDelivery.finished_at)).where(
            DigestDelivery.kind == DigestKind.REP,
            DigestDelivery.recipient_id == user_id,
            DigestDelivery.status == DeliveryStatus.SENT,
            DigestDelivery.finished_at >= now - DIGEST_COVERS,
        )
    )
    bundle = f"{user_id}:{now.isoformat()}"[:64]
    in_digest = [a for a in candidates if digest_sent is not None and a.created_at <= digest_sent]
    for action in in_digest:
        _insert_claim(session, action.id, user_id, today, bundle, NudgeStatus.IN_DIGEST, now)
    fresh = [a for a in candidates if a not in in_digest]
    if not fresh or _sent_today(session, user_id, today) >= prefs.max_per_day:
        return None
    claimed = [
        a
        for a in fresh
        if _insert_claim(session, a.id, user_id, today, bundle, NudgeStatus.CLAIMED, now)
    ]
    if not claimed:
        return None
    lines = []
    for action in claimed:
        rule = RULES_BY_TYPE[ActionType(action.action_type)]
        value = _title_value(session, action, rule.bundled)
        lines.append(
            NudgeLine(
                action_id=action.id,
                kind=KIND_OF_TYPE[rule.type],
                title=rule.title.format(count=value, label=value),
                call_to_action=rule.call_to_action,
                category=action.category,
                title_template=rule.title,
                title_value=value,
            )
        )
    return Nudge(user_id=user_id, slack_user_id=slack_user_id, bundle=bundle, lines=tuple(lines))


def _candidates(
    session: Session, user_id: int, prefs: NudgePrefs, muted: set[str], now: datetime
) -> list[GuidedAction]:
    sunk = {
        t for t, pref in type_preferences(session, user_id=user_id, now=now).items() if pref.sinks
    }
    wanted = [
        t.value
        for t, kind in KIND_OF_TYPE.items()
        if kind.value in prefs.kinds and t.value not in muted and t.value not in sunk
    ]
    if not wanted:
        return []
    claimed = select(NudgeClaim.action_id).where(NudgeClaim.action_id == GuidedAction.id)
    actions = list(
        session.scalars(
            select(GuidedAction)
            .where(
                GuidedAction.user_id == user_id,
                GuidedAction.state == ActionState.OPEN,
                GuidedAction.action_type.in_(wanted),
                ~claimed.exists(),
            )
            .order_by(GuidedAction.id)
        )
    )
    meeting_soon = T.PREPARE_FOR_MEETING.value
    starts = _meeting_starts(
        session, [a.object_id for a in actions if a.action_type == meeting_soon]
    )
    found = []
    for action in actions:
        if action.action_type == meeting_soon:
            begins = starts.get(action.object_id or 0)
            if begins is not None and now < begins <= now + MEETING_LEAD:
                found.append(action)
        elif action.created_at >= now - FRESH_FOR:
            found.append(action)
    return found


def _meeting_starts(session: Session, meeting_ids: list[Any]) -> dict[int, datetime]:
    ids = sorted({i for i in meeting_ids if i is not None})
    if not ids:
        return {}
    rows = session.execute(select(Activity.id, Activity.starts_at).where(Activity.id.in_(ids)))
    return {i: utc(s) for i, s in rows if s is not None}


def _title_value(session: Session, action: GuidedAction, bundled: bool) -> int | str:
    """What fills the rule's title: the open items' count, or the record's label."""
    if bundled:
        count = session.scalar(
            select(func.count()).where(
                GuidedActionItem.action_id == action.id,
                GuidedActionItem.state == ActionState.OPEN,
            )
        )
        return int(count or 0)
    from rules.guided_actions.service import open_actions

    for view in open_actions(session, user_id=action.user_id, now=action.created_at):
        if view.id == action.id:
            return view.title_value
    return "…"


def _sent_today(session: Session, user_id: int, today: Any) -> int:
    """DMs (bundles) sent or being sent to the user on their ``today``."""
    return int(
        session.scalar(
            select(func.count(func.distinct(NudgeClaim.bundle))).where(
                NudgeClaim.user_id == user_id,
                NudgeClaim.local_date == today,
                NudgeClaim.status.in_([NudgeStatus.CLAIMED, NudgeStatus.SENT]),
            )
        )
        or 0
    )


def _insert_claim(
    session: Session,
    action_id: int,
    user_id: int,
    today: Any,
    bundle: str,
    status: NudgeStatus,
    now: datetime,
) -> bool:
    """Insert-or-ignore the claim of one action; True when this call's insert took effect."""
    values = {
        "action_id": action_id,
        "user_id": user_id,
        "local_date": today,
        "bundle": bundle,
        "status": status,
        "claimed_at": now,
    }
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(NudgeClaim).values(values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(NudgeClaim).values(values).on_conflict_do_nothing()
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def record_sent(session: Session, nudge: Nudge, *, channel_id: str, message_ts: str) -> None:
    """The DM went out (the caller commits)."""
    _set_status(session, nudge, NudgeStatus.SENT, channel_id=channel_id, message_ts=message_ts)


def record_failed(session: Session, nudge: Nudge) -> None:
    """Slack refused the DM: the actions stay claimed (a late nudge is no nudge)."""
    _set_status(session, nudge, NudgeStatus.FAILED)


def _set_status(session: Session, nudge: Nudge, status: NudgeStatus, **values: Any) -> None:
    session.execute(
        update(NudgeClaim)
        .where(NudgeClaim.action_id.in_([line.action_id for line in nudge.lines]))
        .values(status=status, **values)
        .execution_options(synchronize_session=False)
    )


def kinds_by_label() -> list[tuple[str, str]]:
    """(value, label) of every nudge kind, for the settings modal."""
    return [(kind.value, label) for kind, label in KIND_LABELS.items()]
