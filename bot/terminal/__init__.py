"""The workspace in a terminal: what ``salesbot demo`` and the previews print.

- ``sections``: the rep's overview (tasks, meetings, insights, goals) as sections;
- ``actions``, ``home``, ``insights``, ``digest``: one more section (or table) each;
- ``demo``: the demo organisation, built fresh and printed in order.
"""
