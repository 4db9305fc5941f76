"""The workspace views that combine features: the Overview, the Schedule and the Feed, and the
names of the Overview's weekly numbers (wording).
"""
