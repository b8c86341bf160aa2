"""Owner notifications in Slack: routed, digested, deduplicated, never lost, never posted twice.

`service` is the entry point (`notify_run` per run, `flush`, `route_findings`); the steps, one module each:
`routing` (+ `directory`, e-mail → Slack user) → `changes` (new / reminder / resolved against `state`) →
`compose` (one digest per owner, follow-ups in threads) and `summary` → `blocks` (Block Kit, split to
Slack's limits; untrusted text through `text`) → `outbox` (the journal) → `delivery` over `transport`
(bot, webhook; what slack-sdk may retry in `retries`) with `credentials` from the environment or Prefect
Secret blocks; a post whose outcome is unknown is looked up (`lookup`) before it is sent again.
"""
