"""Digests: what goes into a rep's and a manager's digest (content) and when each is due
(schedule). Rendering is ``handlers``'; sending is ``bot``'s.
"""
