"""What a user reads about deals: category names and the sentences deal writes answer with
(``rules.deals.ops``)."""

from __future__ import annotations

from rules.deals.queries import DealCategory
from rules.translatable import N_

# In the order the Deals view's menu lists them.
CATEGORY_LABELS: dict[DealCategory, str] = {
    DealCategory.OPEN: N_("Open deals"),
    DealCategory.MINE: N_("My open deals"),
    DealCategory.NO_ACTIVITY_SCHEDULED: N_("No activity scheduled"),
    DealCategory.CLOSING_THIS_MONTH: N_("Closing this month"),
    DealCategory.CLOSE_DATE_PASSED: N_("Close date passed"),
    DealCategory.WON: N_("Won"),
    DealCategory.LOST: N_("Lost"),
    DealCategory.ALL: N_("All deals"),
}

NO_DEAL_ID = "That button didn't say which deal. Refresh and try again."
CANT_CHANGE = "You can't change {whose} deal."
INACTIVE_ACTOR = "Your CRM user is inactive: ask your admin."
PICK_PIPELINE_STAGE = "Pick a stage of this deal's pipeline."
PICK_STAGE = "Pick a stage from the list."
NEXT_STEP_TOO_LONG = "Keep the next step under {limit} characters."
NEEDS_NAME = "A deal needs a name."
NAME_TOO_LONG = "Keep the deal name under {limit} characters."
BAD_AMOUNT = (
    "The amount must be a number from 0 to 999,999,999,999.99, like 185000, "
    "185,000.50 or 185.000,50."
)
NO_PIPELINE = "There is no deal pipeline yet: ask your admin to import one."

NOTHING_TO_CHANGE = "Nothing to change on '{deal}'."
CHANGED_SINCE_SHOWN = (
    "Someone changed '{deal}' since you opened this form, so nothing was saved. "
    "Open it again to see what it says now."
)
# One part per changed field, joined with ", " inside UPDATED.
CHANGED_STAGE = "stage {stage}"
CHANGED_CLOSE_DATE = "close date {month} {day}"
CHANGED_NEXT_STEP = "next step"
CHANGED_AMOUNT = "amount {amount} {currency}"
CHANGED_AMOUNT_REMOVED = "amount removed"
UPDATED = "Done: '{deal}' updated ({changes})."
CREATED = "Done: deal '{deal}' created in {stage}."
