"""Daily digests on the bot side, one module per step.

- ``compose``: what a digest says (rules' data + handlers' blocks) as a Slack message;
- ``deliver``: claim, send paced to Slack's limits, record, for many recipients at once;
- ``schedule``: the minute tick that finds what is due and sends it (``bot.jobs`` runs it).

What is due when, and what a digest contains, are domain questions: ``rules.digests.schedule``
and ``rules.digests.content``.
"""
