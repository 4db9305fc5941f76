"""Pure functions from domain data to Block Kit (dicts): no Slack calls, no SQL."""
