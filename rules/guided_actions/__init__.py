"""Guided actions (spec §4): rules, engine, lifecycle, ranking, feedback, explanations.

The public surface the Slack app, the digests and the CLI use is re-exported here.
"""

from rules.guided_actions.catalog import RULES, RULES_BY_TYPE, rule_for
from rules.guided_actions.engine import EvaluationReport, ObjectRef, RefKind, RuleRun, evaluate
from rules.guided_actions.explain import ConditionCheck, Explanation, RecordNotFound, explain
from rules.guided_actions.model import ActionType, Category, Condition, Rule, Subject
from rules.guided_actions.ops import (
    Outcome,
    complete_action,
    complete_item,
    dismiss_action,
    record_feedback,
)
from rules.guided_actions.service import (
    ActionNotFound,
    ActionView,
    ItemView,
    LinkedRecord,
    NotAllowed,
    mute_action_type,
    muted_action_types,
    open_actions,
    unmute_action_type,
)

__all__ = [
    "RULES",
    "RULES_BY_TYPE",
    "ActionNotFound",
    "ActionType",
    "ActionView",
    "Category",
    "Condition",
    "ConditionCheck",
    "EvaluationReport",
    "Explanation",
    "ItemView",
    "LinkedRecord",
    "NotAllowed",
    "ObjectRef",
    "Outcome",
    "RecordNotFound",
    "RefKind",
    "Rule",
    "RuleRun",
    "Subject",
    "complete_action",
    "complete_item",
    "dismiss_action",
    "evaluate",
    "explain",
    "mute_action_type",
    "muted_action_types",
    "open_actions",
    "record_feedback",
    "rule_for",
    "unmute_action_type",
]
