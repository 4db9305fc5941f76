"""What a user reads about deals: category names and the sentences deal writes answer with
(``rules.deals.ops``)."""

from __future__ import annotations

from rules.deals.queries import DealCategory
from rules.translatable import N_, N_plural
from rules.wording import CantChange

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

NO_DEAL_ID = N_("That button didn't say which deal. Refresh and try again.")
CANT_CHANGE = CantChange(
    yours=N_("You can't change your deal: your CRM user is inactive."),
    theirs=N_("You can't change {name}'s deal."),
    unassigned=N_("You can't change this deal."),
)
INACTIVE_ACTOR = N_("Your CRM user is inactive: ask your admin.")
PICK_PIPELINE_STAGE = N_("Pick a stage of this deal's pipeline.")
PICK_STAGE = N_("Pick a stage from the list.")
NEXT_STEP_TOO_LONG = N_plural(
    "Keep the next step under {count} character.",
    "Keep the next step under {count} characters.",
)
NEEDS_NAME = N_("A deal needs a name.")
NAME_TOO_LONG = N_plural(
    "Keep the deal name under {count} character.",
    "Keep the deal name under {count} characters.",
)
BAD_AMOUNT = N_(
    "The amount must be a number from 0 to 999,999,999,999.99, like 185000, "
    "185,000.50 or 185.000,50."
)
NO_PIPELINE = N_("There is no deal pipeline yet: ask your admin to import one.")

NOTHING_TO_CHANGE = N_("Nothing to change on '{deal}'.")
CHANGED_SINCE_SHOWN = N_(
    "Someone changed '{deal}' since you opened this form, so nothing was saved. "
    "Open it again to see what it says now."
)
# One part per changed field, listed inside UPDATED's ``{changes}``.
CHANGED_STAGE = N_("stage {stage}")
CHANGED_CLOSE_DATE = N_("close date {day}")
CHANGED_NEXT_STEP = N_("next step")
CHANGED_AMOUNT = N_("amount {amount} {currency}")
CHANGED_AMOUNT_REMOVED = N_("amount removed")
UPDATED = N_("Done: '{deal}' updated ({changes}).")
CREATED = N_("Done: deal '{deal}' created in {stage}.")
