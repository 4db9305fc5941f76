"""Meetings and calls: the meetings of a period (queries), logging a meeting's or a call's
outcome (ops), and what a user reads about them (wording).
"""
