"""Reading a deal question in a DM: "how is the Acme deal?", "what are the risks on Globex?"

Only the wording is read here; which deal it names is decided by ``insights.finder`` among
the deals the asker may see.
"""

from __future__ import annotations

import re

# Words that make a DM surely about a deal.
_EXPLICIT = re.compile(
    r"\b(deal|deals|risk|risks|risky|insight|insights|goal|goals)\b", re.IGNORECASE
)
# Words that make a DM a deal question.
_TRIGGERS = re.compile(
    r"\b(deal|deals|risk|risks|risky|insight|insights|goal|goals|how's|hows|status|doing|going)\b"
    r"|\bhow is\b|\bwhat about\b",
    re.IGNORECASE,
)
# Words of the question itself, not of a deal's name.
_FILLER = frozenset(
    [
        "a",
        "about",
        "an",
        "and",
        "any",
        "anything",
        "are",
        "at",
        "buyer",
        "buyer's",
        "deal",
        "deals",
        "doing",
        "for",
        "give",
        "going",
        "goals",
        "goal",
        "hows",
        "how's",
        "how",
        "insight",
        "insights",
        "is",
        "it",
        "latest",
        "me",
        "of",
        "on",
        "opportunity",
        "please",
        "risk",
        "risks",
        "risky",
        "show",
        "status",
        "summarise",
        "summarize",
        "summary",
        "tell",
        "the",
        "there's",
        "there",
        "update",
        "what",
        "what's",
        "whats",
        "with",
    ]
)
_WORD = re.compile(r"[\w][\w&.'-]*", re.UNICODE)


def deal_question(text: str) -> str | None:
    """The deal name a DM asks about, or None when the DM is not a deal question.

    Args:
        text: The message as typed (Slack markup such as ``<@U123>`` is ignored).

    Returns:
        The words left once the question's own words are removed ("acme" for "how is
        the Acme deal?"), or None.
    """
    plain = re.sub(r"<[^>]*>", " ", text).replace("\u2019", "'")
    if not _TRIGGERS.search(plain):
        return None
    words = [w.strip(".'-") for w in _WORD.findall(plain)]
    kept = [w for w in words if w and w.lower() not in _FILLER]
    return " ".join(kept) or None


def names_a_deal_topic(text: str) -> bool:
    """True when the DM says "deal", "risks", "insights" or "goals" outright.

    Looser questions ("how's Acme doing?") are answered only when a deal matches; when
    none does, the message is left to the other answers (e.g. the help).
    """
    return bool(_EXPLICIT.search(text))
