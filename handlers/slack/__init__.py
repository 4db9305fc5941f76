"""Slack plumbing shared by every surface: who is acting, the listener toolkit, ids, private
metadata, publishing the Home tab, the render pool, and running work safely after an ack."""
