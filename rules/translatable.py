"""Marking the domain's user-facing wording for the catalogues, without translating it.

The domain stays language-agnostic: it writes English and marks it with ``N_`` so that
``make messages`` (pybabel) extracts it; ``handlers`` translates it where it is shown, in
the reader's language (``handlers.i18n``). Templates keep their ``{placeholders}`` and are
formatted after translation.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """``message`` unchanged: marked for extraction, translated by whoever shows it."""
    return message
