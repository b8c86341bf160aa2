"""Owner notifications in Slack: routed, digested, deduplicated, never lost.

`service` is the entry point (`notify_run` per run, `flush`, `route_findings`); the steps, one module each:
`routing` (+ `directory`, e-mail → Slack user) → `changes` (new / reminder / resolved against `state`) →
`compose` (one digest per owner, follow-ups in threads) and `summary` → `blocks` (Block Kit, split to
Slack's limits; untrusted text through `text`) → `outbox` (the journal) → `delivery` over `transport`
(bot, webhook) with `credentials` from the environment or Prefect Secret blocks.
"""
