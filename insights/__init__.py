"""Deal Insights: what one user may know about one deal, with and without a model.

Entry points (see docs/insights.md):

- ``insights.service.deal_insight`` / ``answer_follow_up`` / ``record_feedback``
- ``insights.risks.crm_risks`` (CRM-derived risks, no model; the manager digest uses it)
- ``insights.finder.find_deal`` (a deal among those a user may see)
- ``insights.report.insight_to_json`` / ``render_insight`` / ``insight_text``
- ``insights.llm.writer_for`` (the model client, or None without a key)
"""
