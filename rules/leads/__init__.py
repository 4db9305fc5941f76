"""Leads: the Leads view (queries)."""
