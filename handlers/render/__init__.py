"""Pure renderers: domain data in, Block Kit out. No Slack calls, no SQL."""
