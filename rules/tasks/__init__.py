"""Tasks: the due buckets and the Tasks view (queries), the writes on a task (ops), and what
a user reads about them (wording).
"""
