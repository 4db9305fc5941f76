"""Guided actions as blocks: the Overview's panel, with its category filter.

Each action shows its title, its primary link (starts a queue of its items, or completes a
single-item action), its first items with a check mark each, Dismiss, and the feedback
menu ("Yes, keep it up!" / "Not really"). Another person's meeting-based items show as Busy.
"""

from __future__ import annotations

from collections.abc import Sequence

from handlers.i18n import N_, _
from handlers.render.kit import (
    Block,
    actions,
    button,
    context,
    divider,
    escape,
    overflow,
    section,
)
from handlers.render.navigation import ViewState
from handlers.render.views import Groups, filter_select
from handlers.slack import ids
from rules.guided_actions import RULES_BY_TYPE, ActionType, ActionView, ItemView

# A guided action's category, as the Home tab's filter and the digest name it.
ACTION_CATEGORY_LABELS = {
    "closing": N_("Closing-related"),
    "prospecting": N_("Prospecting-related"),
    "other": N_("Meetings, calls and tasks"),
}
# The Home tab's category filter: its choices, and the filter tokens it accepts.
CATEGORY_LABELS = {
    "all": N_("All actions"),
    "closing": ACTION_CATEGORY_LABELS["closing"],
    "prospecting": ACTION_CATEGORY_LABELS["prospecting"],
}
# The same, as the panel's title names the chosen one: "Guided actions (4, closing-related)".
CATEGORY_IN_TITLE = {
    "all": N_("all actions"),
    "closing": N_("closing-related"),
    "prospecting": N_("prospecting-related"),
}
ITEMS_SHOWN = 3
MEETING_TYPES = frozenset(
    {
        ActionType.LOG_MEETING_OUTCOME,
        ActionType.FOLLOW_UP_MEETING,
        ActionType.PREPARE_FOR_MEETING,
    }
)
FEEDBACK_CHOICES = ((N_("Yes, keep it up!"), "yes"), (N_("Not really"), "no"))


def action_title(title: str, template: str, value: int | str) -> str:
    """A guided action's title in the reader's language: its rule's template translated,
    then formatted (``title`` as the domain wrote it when there is no template)."""
    if not template:
        return title
    return _(template).format(count=value, label=value)


# A guided-action type's name where one can be muted (the settings modal).
TYPE_NAMES = {
    ActionType.NEWLY_ASSIGNED_CONTACTS: N_("Newly assigned contacts"),
    ActionType.NEWLY_ASSIGNED_LEADS: N_("Newly assigned leads"),
    ActionType.RE_ENGAGED_CONTACTS: N_("Re-engaged contacts"),
    ActionType.SEQUENCE_ACTIVITY: N_("Sequence activity"),
    ActionType.EMAIL_REPLIES: N_("Email replies"),
    ActionType.LOG_MEETING_OUTCOME: N_("Log meeting outcome"),
    ActionType.FOLLOW_UP_MEETING: N_("Follow up meeting"),
    ActionType.LOG_CALL_OUTCOME: N_("Log call outcome"),
    ActionType.CONTACTS_AWAITING_REPLY: N_("Contacts awaiting reply"),
    ActionType.REPLY_TO_EMAIL: N_("Reply to email"),
    ActionType.LEADS_AWAITING_REPLY: N_("Leads awaiting reply"),
    ActionType.PREPARE_FOR_MEETING: N_("Prepare for meeting"),
    ActionType.HIGH_PRIORITY_TASKS_TODAY: N_("High priority tasks today"),
    ActionType.TARGET_ACCOUNT_ACTIVITY: N_("Target account activity"),
    ActionType.RECENTLY_ENGAGED_LEADS: N_("Recently engaged leads"),
    ActionType.UPDATE_NEXT_STEPS: N_("Update next steps"),
    ActionType.ADD_CONTACT_TO_DEAL: N_("Add contact to deal"),
    ActionType.INITIAL_OUTREACH: N_("Initial outreach"),
    ActionType.FOLLOW_UP_WITH_BUYER: N_("Follow up with buyer"),
}


def muteable_types() -> list[tuple[str, str]]:
    """(value, label) of every guided-action type, in the spec's order and the reader's
    language ("5. Email replies")."""
    return [
        (rule.type.value, f"{rule.number}. {_(TYPE_NAMES[rule.type])}")
        for rule in sorted(RULES_BY_TYPE.values(), key=lambda r: r.number)
    ]


def _item_label(item: ItemView, *, redact: bool) -> str:
    if redact:
        return _("Busy")
    about = [r.label for r in (item.contact, item.company) if r is not None and r.label]
    extra = f" · {escape(', '.join(about))}" if about else ""
    return f"{escape(item.label)}{extra}"


def action_blocks(action: ActionView, *, can_act: bool, is_own: bool) -> list[Block]:
    """One action: title with its primary link, first items, Dismiss and feedback."""
    redact = not is_own and action.type in MEETING_TYPES
    title = (
        _("A meeting (Busy)")
        if redact and not action.bundled
        else escape(action_title(action.title, action.title_template, action.title_value))
    )
    company = f" · {escape(action.company.label)}" if action.company and not redact else ""
    primary = None
    if can_act:
        if action.bundled or len(action.items) > 1:
            primary = button(
                _(action.call_to_action),
                action_id=ids.ACTION_QUEUE_START,
                value=str(action.id),
                style="primary",
            )
        else:
            primary = button("✓ " + _("Done"), action_id=ids.ACTION_DONE, value=str(action.id))
    blocks: list[Block] = [
        section(f"*{title}*{company}", accessory=primary, block_id=f"ga-{action.id}")
    ]
    if action.bundled:
        for item in action.items[:ITEMS_SHOWN]:
            done = (
                button("✓", action_id=ids.ACTION_ITEM_DONE, value=f"{action.id}:{item.id}")
                if can_act
                else None
            )
            blocks.append(
                section(
                    f"• {_item_label(item, redact=redact)}",
                    accessory=done,
                    block_id=f"ga-{action.id}-item-{item.id}",
                )
            )
        hidden = len(action.items) - ITEMS_SHOWN
        if hidden > 0:
            blocks.append(
                context(
                    _("and {count} more: “{start}” goes through them all").format(
                        count=hidden, start=escape(_(action.call_to_action))
                    )
                )
            )
    if can_act:
        feedback = overflow(
            ids.ACTION_FEEDBACK,
            [(_(label), f"{action.id}:{code}") for label, code in FEEDBACK_CHOICES],
        )
        dismiss = button(_("Dismiss"), action_id=ids.ACTION_DISMISS, value=str(action.id))
        blocks.extend(actions([dismiss, feedback], block_id=f"ga-actions-{action.id}"))
    return blocks


def actions_panel(
    views: Sequence[ActionView],
    *,
    state: ViewState,
    category: str,
    other_filters: str,
    can_act: bool,
    is_own: bool,
) -> Groups:
    """The Overview's guided actions: a header with the category filter, then each action."""

    def with_category(value: str) -> str:
        tokens = [value if value != "all" else "", other_filters]
        return "+".join(t for t in tokens if t)

    select = filter_select(
        state,
        name="category",
        placeholder=_("Category"),
        choices=[(_(label), with_category(value)) for value, label in CATEGORY_LABELS.items()],
        current=with_category(category),
    )
    select["action_id"] = ids.ACTION_CATEGORY_FILTER
    label = _(CATEGORY_IN_TITLE.get(category, CATEGORY_IN_TITLE["all"]))
    title = _("Guided actions")
    groups: Groups = [[divider(), section(f"*{title}* ({len(views)}, {label})", accessory=select)]]
    if not views:
        groups.append([context(_("Nothing suggested right now."))])
    groups.extend(action_blocks(view, can_act=can_act, is_own=is_own) for view in views)
    return groups
