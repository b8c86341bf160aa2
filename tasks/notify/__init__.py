"""Owner notifications: digests built from findings, delivered to Slack or a local outbox."""
