"""What a user reads when they click a guided action's buttons (``rules.guided_actions.ops``).

The titles and calls to action of the actions themselves are part of each rule's
declaration in ``rules.guided_actions.catalog`` (one screen per rule).
"""

from __future__ import annotations

from storage.models import ActionState

SUGGESTION = "suggestion"
ITEM = "item"

NOT_YOURS = "You can't change someone else's suggestions."
NO_ID = "That button didn't say which suggestion. Refresh the view and try again."
UNKNOWN_FEEDBACK = "That feedback button is not one I know. Refresh the view."

FEEDBACK_THANKS = {
    True: "Thanks! You'll keep seeing suggestions like this.",
    False: "Thanks for telling us: you'll see fewer suggestions like this.",
}
FEEDBACK_AGAIN = "You already said so. {thanks}"

EXPIRED = "This {noun} has expired: it no longer applies."
ALREADY_CLOSED = "This {noun} was already {how} by {by} {when}."
# ``how`` in ALREADY_CLOSED, by the state it was closed in.
CLOSED_HOW = {ActionState.DONE: "done", ActionState.DISMISSED: "dismissed"}
NOTHING_LEFT = "This suggestion has nothing left to do."

ITEM_DONE = "Done: item checked off."
LAST_ITEM_DONE = "Done: item checked off, and that was the last one."
ACTION_DONE = "Done: suggestion completed."
ACTION_DISMISSED = "Done: suggestion dismissed."
