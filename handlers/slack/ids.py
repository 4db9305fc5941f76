"""Every ``action_id`` and ``callback_id`` the app uses, in one place.

Renderers put these on buttons and modals; listeners register on them. A button's
``value`` carries only a record id (as a string, or ``"<id>:<choice>"`` where noted): it is
never trusted, and each listener re-checks that the clicking user may act on that record.
"""

from __future__ import annotations

# Tasks (value: task id).
TASK_COMPLETE = "task_complete"
TASK_REOPEN = "task_reopen"  # a completed task: open again
TASK_RESCHEDULE = "task_reschedule"  # overflow/select; option value "<id>:tomorrow|next_week|pick"
TASK_EDIT = "task_edit"
TASK_DELETE = "task_delete"  # with a Slack confirm dialog
TASK_REASSIGN = "task_reassign"  # opens a modal with a user picker
TASK_QUEUE_START = (
    "task_queue_start"  # value: a rules.tasks.queries.TaskBucket ("overdue", "today", ...)
)
TASK_QUEUE_NEXT = "task_queue_next"  # "Skip" in the queue modal; value: task id
TASK_CREATE = "task_create"
FOLLOW_UP_CREATE = "follow_up_create"  # value: completed task id
FOLLOW_UP_NOT_NOW = "follow_up_not_now"
FOLLOW_UP_SETTINGS = "follow_up_settings"

# Meetings and calls (value: activity id).
MEETING_LOG_OUTCOME = "meeting_log_outcome"
CALL_LOG_OUTCOME = "call_log_outcome"

# Guided actions (value: action id, or "<action id>:<item id>" for items).
ACTION_ITEM_DONE = "ga_item_done"
ACTION_DONE = "ga_done"
ACTION_DISMISS = "ga_dismiss"
ACTION_FEEDBACK = "ga_feedback"  # overflow; option value "<action id>:yes|no"
ACTION_QUEUE_START = "ga_queue_start"
ACTION_CATEGORY_FILTER = "ga_category"  # static select: all | closing | prospecting

# Deals (value: deal id).
DEAL_UPDATE = "deal_update"  # opens a modal: stage, close date, next step
DEAL_CREATE = "deal_create"
DEAL_INSIGHTS = "deal_insights"
DEAL_PICK = "deal_pick"  # several fuzzy matches: the user picks one
NOTE_ADD = "note_add"  # value: "<record kind>:<id>" (deal, contact, company); opens a modal
CALL_LOG = "call_log"  # "Log a call" on a deal (value: deal id); opens a modal

# Deal Insights.
INSIGHTS_SHOW_MORE = "insights_show_more"
INSIGHTS_FEEDBACK = "insights_feedback"  # value: "<insight id>:helpful|not_helpful"

# App Home navigation (value: view name and page, e.g. "deals:2").
HOME_NAV = "home_nav"
HOME_PAGE = "home_page"
HOME_FILTER = "home_filter"

# Modals (callback_id).
VIEW_TASK_EDIT = "task_edit_modal"
VIEW_TASK_REASSIGN = "task_reassign_modal"
VIEW_TASK_RESCHEDULE = "task_reschedule_modal"
VIEW_TASK_CREATE = "task_create_modal"
VIEW_MEETING_OUTCOME = "meeting_outcome_modal"
VIEW_CALL_OUTCOME = "call_outcome_modal"
VIEW_DEAL_UPDATE = "deal_update_modal"
VIEW_DEAL_CREATE = "deal_create_modal"
VIEW_NOTE_ADD = "note_add_modal"
VIEW_CALL_LOG = "call_log_modal"
VIEW_SETTINGS = "settings_modal"
VIEW_INSIGHTS_FULL = "insights_full_modal"
VIEW_INSIGHTS_FEEDBACK = "insights_feedback_modal"

SLASH_COMMAND = "/sales"

# Added by the buttons branch.
TASK_QUEUE_COMPLETE = "task_queue_complete"  # inside the queue modal; value: task id
VIEW_TASK_QUEUE = "task_queue_modal"
VIEW_RESULT = "result_modal"  # a modal that only says what happened
ACTION_QUEUE_NEXT = "ga_queue_next"  # "Skip" in a guided action's queue; value: item id
VIEW_ACTION_QUEUE = "ga_queue_modal"

# A write the connected CRM did not take (value: outbox row id).
CRM_WRITE_APPLY_MINE = "crm_write_apply_mine"
CRM_WRITE_KEEP_THEIRS = "crm_write_keep_theirs"
CRM_WRITE_RETRY = "crm_write_retry"
CRM_WRITE_DISMISS = "crm_write_dismiss"
