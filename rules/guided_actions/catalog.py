"""The 19 guided actions of the spec (§4), one declarative unit each.

Read a rule as a row of the spec's table: ``criteria`` must ALL hold to create it, any of
``expiry`` (plus every criterion, when ``expires_when_criteria_stop``) ends it. Readings that
go beyond the table are marked [choice] and explained in docs/guided-actions.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select

from rules.guided_actions import predicates as p
from rules.guided_actions.model import (
    ActionType,
    Category,
    Condition,
    Ctx,
    Rule,
    Subject,
    shared_alias,
)
from rules.translatable import N_
from storage.models import (
    OPEN_TASK_STATUSES,
    Activity,
    ActivityContact,
    ActivityDeal,
    ActivityKind,
    Company,
    DealContact,
    EmailDirection,
    Lead,
    PipelineStage,
    StageState,
)

C, L, D = Subject.CONTACT, Subject.LEAD, Subject.DEAL


# --- rule-specific conditions (the shared ones live in predicates) ---------------------------


def _assigned_recently(what: str, days: int) -> Condition:
    # [choice] "Newly": assigned within the action's lifetime, else every old record qualifies.
    # Creation only: the spec's expiry is the action's own age, not the assignment's.
    span = timedelta(days=days)
    return Condition(
        f"assigned_within_{days}_days",
        f"the {what} was assigned to you less than {days} days ago",
        lambda c: c.subject.owner_assigned_at > c.now - span,
        creation_only=True,
    )


def _not_late_lifecycle() -> Condition:
    def sql(c: Ctx) -> ColumnElement[bool]:
        stage = func.lower(c.subject.lifecycle_stage)
        return or_(c.subject.lifecycle_stage.is_(None), stage.not_in(c.late_stages))

    return Condition(
        "not_customer", "its lifecycle stage is not Customer or Evangelist (or a late stage)", sql
    )


def _no_deal() -> Condition:
    def sql(c: Ctx) -> ColumnElement[bool]:
        dc = shared_alias(DealContact)
        return ~exists(select(1).where(dc.contact_id == c.subject.id).correlate_except(dc.table))

    return Condition("no_deal", "the contact is not associated with a deal", sql)


def _no_tracked_email_from_you() -> Condition:
    return Condition(
        "no_tracked_email_sent",
        "you have not sent it a tracked email",
        lambda c: (
            ~p.any_activity(
                p.activity_ids(C, c.subject),
                lambda a: and_(
                    a.kind == ActivityKind.EMAIL,
                    a.direction == EmailDirection.OUTGOING,
                    a.owner_id == c.you,
                    a.tracked.is_(True),
                    a.occurred_at <= c.now,
                ),
            )
        ),
    )


def _never_emailed_you() -> Condition:
    return Condition(
        "has_not_emailed_you",
        "it has not emailed you",
        lambda c: (
            ~p.any_activity(
                p.activity_ids(C, c.subject),
                lambda a: and_(
                    a.kind == ActivityKind.EMAIL,
                    a.direction == EmailDirection.INCOMING,
                    or_(a.owner_id == c.you, func.lower(a.primary_recipient) == p.your_email(c)),
                    a.occurred_at <= c.now,
                ),
            )
        ),
    )


def _you_logged_activity_on_lead() -> Condition:
    return Condition(
        "you_logged_activity",
        "you log any activity on the lead",
        lambda c: p.any_activity(
            p.activity_ids(L, c.subject),
            lambda a: and_(a.owner_id == c.you, a.created_at > c.created_at),
        ),
    )


def _latest_lead(c: Ctx, column: Any) -> ColumnElement[Any]:
    lead = shared_alias(Lead)
    stage = shared_alias(PipelineStage)
    value = column(lead, stage)
    return (
        select(value)
        .select_from(lead.table)
        .join(stage.table, stage.id == lead.stage_id)
        .where(lead.contact_id == c.subject.id)
        .order_by(lead.created_at.desc(), lead.id.desc())
        .limit(1)
        .correlate_except(lead.table, stage.table)
        .scalar_subquery()
    )


def _disqualified_at(c: Ctx) -> ColumnElement[Any]:
    return _latest_lead(
        c, lambda lead, _s: func.coalesce(lead.disqualified_at, lead.stage_changed_at)
    )


def _last_lead_disqualified() -> Condition:
    return Condition(
        "last_lead_disqualified",
        "its most recent lead was disqualified",
        lambda c: _latest_lead(c, lambda _l, stage: stage.state) == StageState.LOST.value,
    )


def _reengaged_within(days: int) -> Condition:
    return Condition(
        f"re_engaged_within_{days}_days",
        f"it engaged again within the last {days} days, after that disqualification",
        lambda c: p.any_activity(
            p.activity_ids(C, c.subject),
            lambda a: and_(
                p.engaged_at(a) > _disqualified_at(c),
                p.engaged_at(a) >= c.now - timedelta(days=days),
                p.engaged_at(a) <= c.now,
            ),
        ),
    )


def _more_than_days_since_reengaged(days: int) -> Condition:
    inner = _reengaged_within(days)
    return Condition(
        f"more_than_{days}_days_since_re_engaged",
        f"more than {days} days since it re-engaged",
        lambda c: p.does_not_hold(inner.sql(c)),
    )


def _lead_created_after_action() -> Condition:
    def sql(c: Ctx) -> ColumnElement[bool]:
        lead = shared_alias(Lead)
        return exists(
            select(1)
            .where(lead.contact_id == c.subject.id, lead.created_at > c.created_at)
            .correlate_except(lead.table)
        )

    return Condition("lead_created", "a lead is created for it", sql)


def _follow_up_tasks_completed() -> Condition:
    def sql(c: Ctx) -> ColumnElement[bool]:
        task = shared_alias(Activity)
        follow_ups = (
            select(1)
            # Only tasks have follow_up_of_id; filtering on kind too made SQLite pick the
            # kind index and scan every task per meeting.
            .where(task.follow_up_of_id == c.subject.id)
            .correlate_except(task.table)
        )
        still_open = follow_ups.where(task.status.in_([s.value for s in OPEN_TASK_STATUSES]))
        return and_(exists(follow_ups), ~exists(still_open))

    return Condition("follow_up_tasks_completed", "its follow-up tasks are completed", sql)


def _still_scheduled() -> Condition:
    return Condition(
        "still_scheduled",
        "the meeting is still Scheduled",
        lambda c: or_(c.subject.outcome.is_(None), c.subject.outcome == "scheduled"),
    )


def _ten_minutes_after_start() -> Condition:
    span = timedelta(minutes=10)
    return Condition(
        "ten_minutes_after_start",
        "10 minutes have passed since the meeting's start",
        lambda c: c.subject.starts_at <= c.now - span,
        deadline=lambda record, _created: record.starts_at + span if record.starts_at else None,
    )


def _target_account() -> Condition:
    def sql(c: Ctx) -> ColumnElement[bool]:
        return exists(
            select(1)
            .where(Company.id == c.subject.company_id, Company.is_target_account.is_(True))
            .correlate_except(Company)
        )

    return Condition("target_account", "its company is marked as a target account", sql)


def _deal_activity_ended_at(a: Any) -> ColumnElement[Any]:
    return case(
        (a.kind == ActivityKind.TASK, a.completed_at),
        else_=func.coalesce(a.ends_at, a.occurred_at),
    )


def _latest_ended_activity(c: Ctx) -> ColumnElement[Any]:
    limit = c.now - timedelta(hours=24)
    return p.latest(
        p.activity_ids(D, c.subject),
        lambda a: p.case_when(_deal_activity_ended_at(a) < limit, _deal_activity_ended_at(a)),
    )


def _activity_ended_over_24h_ago() -> Condition:
    return Condition(
        "activity_ended_over_24h_ago",
        "an activity associated with the deal ended more than 24 hours ago",
        lambda c: p.any_activity(
            p.activity_ids(D, c.subject),
            lambda a: _deal_activity_ended_at(a) < c.now - timedelta(hours=24),
        ),
    )


def _next_step_not_updated_since() -> Condition:
    return Condition(
        "next_step_not_updated",
        "the deal's next step has not been updated since that activity",
        # Vacuously true without such an activity: the criterion above covers that.
        lambda c: p.does_not_hold(c.subject.next_step_updated_at >= _latest_ended_activity(c)),
    )


def _next_step_changed() -> Condition:
    return Condition(
        "next_step_changed",
        "the deal's next step changed",
        lambda c: c.subject.next_step_updated_at > c.created_at,
    )


def _created_more_than_days_ago(days: int) -> Condition:
    span = timedelta(days=days)
    return Condition(
        f"deal_created_more_than_{days}_days_ago",
        f"the deal was created more than {days} days ago",
        lambda c: c.subject.created_at < c.now - span,
    )


def _deal_has_no_contact() -> Condition:
    def sql(c: Ctx) -> ColumnElement[bool]:
        dc = shared_alias(DealContact)
        return ~exists(select(1).where(dc.deal_id == c.subject.id).correlate_except(dc.table))

    return Condition("no_contact", "it has no associated contact", sql)


def _contact_associated() -> Condition:
    inner = _deal_has_no_contact()
    return Condition(
        "contact_associated", "a contact gets associated", lambda c: p.does_not_hold(inner.sql(c))
    )


def _deal_has_no_engagement() -> Condition:
    def sql(c: Ctx) -> ColumnElement[bool]:
        ad = shared_alias(ActivityDeal)
        return ~exists(select(1).where(ad.deal_id == c.subject.id).correlate_except(ad.table))

    return Condition("no_engagement", "it has no engagement (no associated activity)", sql)


def _engagement_associated() -> Condition:
    inner = _deal_has_no_engagement()
    return Condition(
        "engagement_associated",
        "an engagement gets associated",
        lambda c: p.does_not_hold(inner.sql(c)),
    )


def _buyer_ids(c: Ctx) -> Any:
    return p.activity_ids("deal_contacts", c.subject)


def _opened_unanswered(a: Any, c: Ctx) -> ColumnElement[bool]:
    # A reply is recorded on the email (replied_at) or arrives threaded onto it: a connector
    # may supply only the latter, which the expiry already counts.
    return and_(
        a.kind == ActivityKind.EMAIL,
        a.direction == EmailDirection.OUTGOING,
        a.opened_at <= c.now - timedelta(days=7),
        a.replied_at.is_(None),
        ~p.has_threaded_reply(a, c),
    )


def _opened_not_replied() -> Condition:
    def sql(c: Ctx) -> ColumnElement[bool]:
        # The deal's contacts' links first, each email by its key: written as one join,
        # SQLite (no statistics) walked every email by kind once per deal instead.
        dc, ac = shared_alias(DealContact), shared_alias(ActivityContact)
        a = shared_alias(Activity)
        email = exists(
            select(1)
            .where(a.id == ac.activity_id, _opened_unanswered(a, c))
            .correlate_except(a.table)
        )
        return exists(
            select(1)
            .select_from(dc.table)
            .join(ac.table, ac.contact_id == dc.contact_id)
            .where(dc.deal_id == c.subject.id, email)
            .correlate_except(dc.table, ac.table)
        )

    return Condition(
        "opened_not_replied_7_days",
        "a contact of the deal opened an email but has not replied 7 days later",
        sql,
    )


def _buyer_replied_after_creation() -> Condition:
    return Condition(
        "contact_replied",
        "an associated contact replies",
        lambda c: p.any_activity(
            _buyer_ids(c),
            lambda a: or_(
                and_(
                    a.kind == ActivityKind.EMAIL,
                    a.direction == EmailDirection.INCOMING,
                    a.occurred_at > c.created_at,
                    a.occurred_at <= c.now,
                ),
                and_(a.replied_at > c.created_at, a.replied_at <= c.now),
            ),
        ),
    )


def _unreplied_buyer_reply(days: int) -> Condition:
    return Condition(
        f"contact_replied_within_{days}_days",
        f"a contact of the deal replied to you in the last {days} days",
        lambda c: p.any_activity(
            _buyer_ids(c), lambda a: p.in_window(p.reply_to_you_at(a, c), c, days)
        ),
    )


# --- the table ------------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    Rule(
        number=1,
        type=ActionType.NEWLY_ASSIGNED_CONTACTS,
        subject=C,
        category=Category.PROSPECTING,
        bundled=True,
        title=N_("Reach out to {count} newly assigned contact(s)"),
        call_to_action=N_("Start outreach"),
        criteria=(
            p.assigned_to_you("contact"),
            _assigned_recently("contact", 30),
            _not_late_lifecycle(),
            _no_deal(),
            _no_tracked_email_from_you(),
            _never_emailed_you(),
        ),
        expiry=(p.action_age(30, strict=False),),
        expires_when_criteria_stop=True,
        episode=lambda c: p.time_text(c.subject.owner_assigned_at),
    ),
    Rule(
        number=2,
        type=ActionType.NEWLY_ASSIGNED_LEADS,
        subject=L,
        category=Category.PROSPECTING,
        bundled=True,
        title=N_("Work {count} newly assigned lead(s)"),
        call_to_action=N_("Start working leads"),
        criteria=(
            p.assigned_to_you("lead"),
            _assigned_recently("lead", 30),
            p.first_stage("lead"),
        ),
        expiry=(
            p.reassigned("lead"),
            p.action_age(30, strict=False),
            _you_logged_activity_on_lead(),
        ),
        episode=lambda c: p.time_text(c.subject.owner_assigned_at),
    ),
    Rule(
        number=3,
        type=ActionType.RE_ENGAGED_CONTACTS,
        subject=C,
        category=Category.PROSPECTING,
        bundled=False,
        title=N_("{label} re-engaged after being disqualified"),
        call_to_action=N_("Create a lead"),
        criteria=(
            p.assigned_to_you("contact"),
            p.no_open_lead(),
            _last_lead_disqualified(),
            _reengaged_within(30),
        ),
        expiry=(
            p.reassigned("contact"),
            _lead_created_after_action(),
            _more_than_days_since_reengaged(30),
        ),
        episode=p.latest_engagement(C),
        narrow=p.contact_engaged_recently(30),
    ),
    Rule(
        number=4,
        type=ActionType.SEQUENCE_ACTIVITY,
        subject=Subject.TASK,
        category=Category.ALL,
        bundled=True,
        title=N_("Work {count} sequence task(s)"),
        call_to_action=N_("Start sequence tasks"),
        criteria=(p.assigned_to_you("sequence task"), p.sequence_task(), p.task_open()),
        expires_when_criteria_stop=True,
    ),
    Rule(
        number=5,
        type=ActionType.EMAIL_REPLIES,
        subject=C,
        category=Category.PROSPECTING,
        bundled=False,
        title=N_("{label} replied to your email"),
        call_to_action=N_("Reply"),
        criteria=(
            p.assigned_to_you("contact"),
            p.replied_to_your_email_within(
                C, 14, "it replied to an email you sent, in the last 14 days"
            ),
            p.not_answered(p.latest_reply_to_your_email(C), C),
        ),
        expiry=(
            p.you_emailed_after_creation(C, "contact"),
            p.reassigned("contact"),
            p.action_age(14, strict=False),
        ),
        episode=lambda c: p.time_text(p.latest_reply_to_your_email(C)(c)),
        narrow=p.contact_emailed_recently(14, replies=True),
    ),
    Rule(
        number=6,
        type=ActionType.LOG_MEETING_OUTCOME,
        subject=Subject.MEETING,
        category=Category.ALL,
        bundled=True,
        title=N_("Log the outcome of {count} meeting(s)"),
        call_to_action=N_("Log outcomes"),
        criteria=(
            p.assigned_to_you("meeting"),
            p.ended_at_least_ago(hours=1),
            p.ended_less_than_days_ago(7),
            p.meeting_outcome_unset(),
        ),
        expires_when_criteria_stop=True,
    ),
    Rule(
        number=7,
        type=ActionType.FOLLOW_UP_MEETING,
        subject=Subject.MEETING,
        category=Category.ALL,
        bundled=False,
        title=N_("Follow up on your meeting “{label}”"),
        call_to_action=N_("Create a follow-up task"),
        criteria=(
            p.assigned_to_you("meeting"),
            Condition(
                "started", "its start time has passed", lambda c: c.subject.starts_at <= c.now
            ),
            p.ended_less_than_days_ago(7),
        ),
        expiry=(_follow_up_tasks_completed(),),
        expires_when_criteria_stop=True,
    ),
    Rule(
        number=8,
        type=ActionType.LOG_CALL_OUTCOME,
        subject=Subject.CALL,
        category=Category.ALL,
        bundled=True,
        title=N_("Log the outcome of {count} call(s)"),
        call_to_action=N_("Log outcomes"),
        criteria=(
            p.assigned_to_you("call"),
            Condition(
                "started_at_least_1h_ago",
                "at least 1 hour since it started",
                lambda c: c.subject.starts_at <= c.now - timedelta(hours=1),
            ),
            p.call_status_completed_or_empty(),
            p.call_outcome_empty(),
            p.started_less_than_days_ago(7),
        ),
        expires_when_criteria_stop=True,
    ),
    Rule(
        number=9,
        type=ActionType.CONTACTS_AWAITING_REPLY,
        subject=C,
        category=Category.PROSPECTING,
        bundled=False,
        title=N_("{label} is waiting for your reply"),
        call_to_action=N_("Reply"),
        criteria=(
            p.assigned_to_you("contact"),
            p.no_open_lead(),
            p.wrote_to_you_within(C, 14, "contact"),
            p.not_answered(p.latest_inbound_to_you(C), C),
            p.other_domain(lambda c: c.subject.email_domain, "contact"),
        ),
        expiry=(
            p.reassigned("contact"),
            p.action_age(14, strict=True),
            p.you_emailed_after_creation(C, "contact"),
        ),
        episode=lambda c: p.time_text(p.latest_inbound_to_you(C)(c)),
        narrow=p.contact_emailed_recently(14),
    ),
    Rule(
        number=10,
        type=ActionType.REPLY_TO_EMAIL,
        subject=D,
        category=Category.CLOSING,
        bundled=False,
        title=N_("Reply to the buyer on {label}"),
        call_to_action=N_("Reply"),
        criteria=(
            p.assigned_to_you("deal"),
            p.open_stage("deal"),
            _unreplied_buyer_reply(7),
            p.not_answered(p.latest_reply_to_you("deal_contacts"), "deal_contacts"),
        ),
        expiry=(
            p.closed("deal"),
            Condition(
                "you_replied",
                "you send an email reply",
                p.you_emailed_after_creation("deal_contacts", "contact").sql,
            ),
            p.action_age(7, strict=True),
        ),
        episode=lambda c: p.time_text(p.latest_reply_to_you("deal_contacts")(c)),
        narrow=p.deal_buyer_emailed_recently(7),
    ),
    Rule(
        number=11,
        type=ActionType.LEADS_AWAITING_REPLY,
        subject=L,
        category=Category.PROSPECTING,
        bundled=False,
        title=N_("{label} is waiting for your reply"),
        call_to_action=N_("Reply"),
        criteria=(
            p.assigned_to_you("lead"),
            p.wrote_to_you_within(L, 14, "lead"),
            p.not_answered(p.latest_inbound_to_you(L), L),
            p.other_domain(p.lead_domain, "lead"),
        ),
        expiry=(
            p.reassigned("lead"),
            p.action_age(14, strict=True),
            p.you_emailed_after_creation(L, "lead"),
        ),
        episode=lambda c: p.time_text(p.latest_inbound_to_you(L)(c)),
        narrow=p.lead_emailed_recently(14),
    ),
    Rule(
        number=12,
        type=ActionType.PREPARE_FOR_MEETING,
        subject=Subject.MEETING,
        category=Category.ALL,
        bundled=False,
        title=N_("Prepare for “{label}”"),
        call_to_action=N_("Review the meeting"),
        criteria=(p.assigned_to_you("meeting"), p.starts_later_today(), _still_scheduled()),
        expiry=(_ten_minutes_after_start(),),
    ),
    Rule(
        number=13,
        type=ActionType.HIGH_PRIORITY_TASKS_TODAY,
        subject=Subject.TASK,
        category=Category.ALL,
        bundled=True,
        title=N_("{count} high-priority task(s) due today"),
        call_to_action=N_("Start the task queue"),
        criteria=(
            p.assigned_to_you("task"),
            p.high_priority(),
            p.task_open(),
            p.due_today(),
        ),
        expires_when_criteria_stop=True,
        # A task moved to another day and back is a new situation.
        episode=lambda c: p.time_text(c.subject.due_at),
    ),
    Rule(
        number=14,
        type=ActionType.TARGET_ACCOUNT_ACTIVITY,
        subject=C,
        category=Category.PROSPECTING,
        bundled=False,
        title=N_("{label} (target account) engaged"),
        call_to_action=N_("View the activity"),
        criteria=(p.assigned_to_you("contact"), _target_account(), p.engaged_within(C, 7)),
        expiry=(p.more_than_days_since_engaged(C, 7),),
        episode=p.latest_engagement(C),
        narrow=p.contact_engaged_recently(7),
    ),
    Rule(
        number=15,
        type=ActionType.RECENTLY_ENGAGED_LEADS,
        subject=L,
        category=Category.PROSPECTING,
        bundled=False,
        title=N_("{label} engaged recently"),
        call_to_action=N_("Follow up"),
        criteria=(p.assigned_to_you("lead"), p.open_stage("lead"), p.engaged_within(L, 7)),
        expiry=(p.more_than_days_since_engaged(L, 7),),
        episode=p.latest_engagement(L),
        narrow=p.lead_engaged_recently(7),
    ),
    Rule(
        number=16,
        type=ActionType.UPDATE_NEXT_STEPS,
        subject=D,
        category=Category.CLOSING,
        bundled=False,
        title=N_("Update the next step of {label}"),
        call_to_action=N_("Update next step"),
        criteria=(
            p.assigned_to_you("deal"),
            p.open_stage("deal"),
            _activity_ended_over_24h_ago(),
            _next_step_not_updated_since(),
        ),
        expiry=(p.reassigned("deal"), p.closed("deal"), _next_step_changed()),
        episode=lambda c: p.time_text(_latest_ended_activity(c)),
    ),
    Rule(
        number=17,
        type=ActionType.ADD_CONTACT_TO_DEAL,
        subject=D,
        category=Category.CLOSING,
        bundled=False,
        title=N_("Add a contact to {label}"),
        call_to_action=N_("Add contact"),
        criteria=(
            p.assigned_to_you("deal"),
            p.open_stage("deal"),
            _created_more_than_days_ago(7),
            _deal_has_no_contact(),
        ),
        expiry=(
            p.reassigned("deal"),
            p.closed("deal"),
            _contact_associated(),
            p.action_age(7, strict=True),
        ),
    ),
    Rule(
        number=18,
        type=ActionType.INITIAL_OUTREACH,
        subject=D,
        category=Category.CLOSING,
        bundled=False,
        title=N_("Initial outreach needed on {label}"),
        call_to_action=N_("Reach out"),
        criteria=(
            p.assigned_to_you("deal"),
            p.first_stage("deal"),
            p.open_stage("deal"),
            _created_more_than_days_ago(7),
            _deal_has_no_engagement(),
        ),
        expiry=(
            p.reassigned("deal"),
            p.closed("deal"),
            _engagement_associated(),
            p.action_age(7, strict=True),
        ),
    ),
    Rule(
        number=19,
        type=ActionType.FOLLOW_UP_WITH_BUYER,
        subject=D,
        category=Category.CLOSING,
        bundled=False,
        title=N_("Follow up with the buyer on {label}"),
        call_to_action=N_("Send a follow-up"),
        criteria=(p.assigned_to_you("deal"), p.open_stage("deal"), _opened_not_replied()),
        expiry=(_buyer_replied_after_creation(), p.action_age(7, strict=True)),
        episode=lambda c: p.time_text(
            p.latest(_buyer_ids(c), lambda a: p.case_when(_opened_unanswered(a, c), a.opened_at))
        ),
    ),
)

RULES_BY_TYPE: dict[ActionType, Rule] = {rule.type: rule for rule in RULES}


def rule_for(name: str | int) -> Rule:
    """Find a rule by its type name (``log_meeting_outcome``) or spec number (``6``).

    Raises:
        KeyError: no such rule.
    """
    text = str(name).strip().lower().replace("-", "_")
    if text.isdigit():
        for rule in RULES:
            if rule.number == int(text):
                return rule
    for rule in RULES:
        if rule.type.value == text:
            return rule
    raise KeyError(f"unknown action type {name!r}")
