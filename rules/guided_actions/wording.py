"""What a user reads when they click a guided action's buttons (``rules.guided_actions.ops``).

The titles and calls to action of the actions themselves are part of each rule's
declaration in ``rules.guided_actions.catalog`` (one screen per rule).
"""

from __future__ import annotations

from rules.translatable import N_
from storage.models import ActionState

# What a button acts on: a whole suggestion, or one item of it.
SUGGESTION = "suggestion"
ITEM = "item"

NOT_YOURS = N_("You can't change someone else's suggestions.")
NO_ID = N_("That button didn't say which suggestion. Refresh the view and try again.")
UNKNOWN_FEEDBACK = N_("That feedback button is not one I know. Refresh the view.")

FEEDBACK_THANKS = {
    True: N_("Thanks! You'll keep seeing suggestions like this."),
    False: N_("Thanks for telling us: you'll see fewer suggestions like this."),
}
FEEDBACK_AGAIN = N_("You already said so. {thanks}")

EXPIRED = {
    SUGGESTION: N_("This suggestion has expired: it no longer applies."),
    ITEM: N_("This item has expired: it no longer applies."),
}
# Already closed, by what was closed and the state it was closed in (``{by} {when}``:
# "by Dana at 9:14"); CLOSED for a state without a sentence of its own.
ALREADY_CLOSED = {
    (SUGGESTION, ActionState.DONE): N_("This suggestion was already done {by} {when}."),
    (SUGGESTION, ActionState.DISMISSED): N_("This suggestion was already dismissed {by} {when}."),
    (ITEM, ActionState.DONE): N_("This item was already done {by} {when}."),
    (ITEM, ActionState.DISMISSED): N_("This item was already dismissed {by} {when}."),
}
CLOSED = {
    SUGGESTION: N_("This suggestion was already closed {by} {when}."),
    ITEM: N_("This item was already closed {by} {when}."),
}
NOTHING_LEFT = N_("This suggestion has nothing left to do.")

ITEM_DONE = N_("Done: item checked off.")
LAST_ITEM_DONE = N_("Done: item checked off, and that was the last one.")
ACTION_DONE = N_("Done: suggestion completed.")
ACTION_DISMISSED = N_("Done: suggestion dismissed.")
