"""Deals: the Deals view by category (queries), the writes on a deal (ops), and what a user
reads about them (wording).
"""
