"""Logging an activity on a record from Slack: "Add note" (a deal, contact or company) and
"Log a call" (a deal) create an activity owned by the acting user (ops), and what a user
reads about it (wording).
"""
