"""Delivery through the real slack_sdk clients against the Slack double: retries, outages, flush, secrets."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from pathlib import Path

import pytest

from complyflow.core.config import Config
from tasks.notify.outbox import Outbox
from tasks.notify.service import NotifyError, flush
from tests.notify.conftest import T0, FindingFactory, all_text, digest_posts, notify, tuned
from tests.support.slack_double import SlackDouble


def _many_owners(finding: FindingFactory, run_id: str = "run-1") -> list:
    return [
        finding(name=f"bucket-{o}", owner=o, run_id=run_id)
        for o in ("data-eng", "ml-research", "platform-team", "security-team")
    ]


def test_429_is_retried_after_the_retry_after_delay(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    slack.fail_next(1, 429, error="ratelimited", retry_after=1, methods=("chat.postMessage",))
    started = time.monotonic()
    result = notify(config, tmp_path, [finding()], "run-1", T0)
    assert time.monotonic() - started >= 1.0  # Retry-After honoured
    assert (result.sent, result.pending, result.errors) == (2, 0, [])
    attempts = slack.method_calls("chat.postMessage")
    assert len(attempts) == 3  # the rate-limited attempt, its retry, the summary
    assert slack.message_ids() == ["run-1/001", "run-1/summary"]


def test_server_errors_are_retried(config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path) -> None:
    slack.fail_next(2, 503)
    result = notify(config, tmp_path, [finding()], "run-1", T0)
    assert (result.sent, result.pending) == (2, 0)
    assert slack.message_ids() == ["run-1/001", "run-1/summary"]


def test_persistent_5xx_leaves_messages_pending(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    slack.fail_next(20, 502, methods=("chat.postMessage",))
    result = notify(config, tmp_path, [finding()], "run-1", T0)
    assert (result.sent, result.pending) == (0, 2)
    assert result.errors == ["run-1/001 to #data-eng: http_502"]
    assert len(slack.method_calls("chat.postMessage")) == 3  # first try + 2 retries, then the round stops
    assert len(slack.method_calls("conversations.history")) == 2  # a 502 may have posted: looked up before each retry


def test_a_post_that_may_have_landed_is_not_retried_while_it_cannot_be_checked(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    slack.fail_next(20, 502)  # posts and look-ups alike
    result = notify(config, tmp_path, [finding()], "run-1", T0)
    assert (result.sent, result.pending) == (0, 2)
    assert len(slack.method_calls("chat.postMessage")) == 1
    assert "cannot be checked now (http_502)" in result.errors[0]
    slack.restore()
    assert flush(config, tmp_path).sent == 2
    assert slack.message_ids() == ["run-1/001", "run-1/summary"]


def test_outage_mid_run_then_flush_sends_the_rest_once(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    slack.outage(after_posts=2)
    result = notify(config, tmp_path, _many_owners(finding), "run-1", T0)
    assert (result.queued, result.sent, result.pending) == (5, 2, 3)
    assert slack.message_ids() == ["run-1/001", "run-1/002"]

    with pytest.MonkeyPatch.context() as env, pytest.raises(NotifyError, match="without Slack credentials"):
        env.delenv("SLACK_BOT_TOKEN")  # without credentials a flush refuses instead of pretending
        flush(config, tmp_path)

    slack.restore()
    flushed = flush(config, tmp_path)
    assert (flushed.sent, flushed.pending) == (3, 0)
    assert slack.message_ids() == ["run-1/001", "run-1/002", "run-1/003", "run-1/004", "run-1/summary"]
    assert flush(config, tmp_path).sent == 0  # nothing twice
    rerun = notify(config, tmp_path, _many_owners(finding, "run-2"), "run-2", T0 + timedelta(hours=1))
    assert (rerun.new, rerun.digests) == (0, 0)  # what was queued during the outage counts as announced
    assert slack.message_ids()[-1] == "run-2/summary" and len(slack.message_ids()) == 6


def test_slack_unreachable_keeps_everything_and_the_next_run_delivers_it_first(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    slack.stop()  # connection refused
    down = notify(config, tmp_path, [finding()], "run-1", T0)
    assert (down.sent, down.pending) == (0, 2)
    assert any("URLError" in e or "Connection" in e for e in down.errors)
    slack.start()  # same port
    still = [finding(run_id="run-2"), finding(name="bucket-new", run_id="run-2")]
    up = notify(config, tmp_path, still, "run-2", T0 + timedelta(days=1))
    assert (up.new, up.pending) == (1, 0)
    assert slack.message_ids() == ["run-1/001", "run-1/summary", "run-2/001", "run-2/summary"]


def test_replies_wait_for_their_thread_root(
    shipped_config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    config = tuned(shipped_config, summary_channel=None, max_items_per_control=500)
    big = [finding(name=f"bucket-{i:03d}-" + "x" * 120) for i in range(150)]
    slack.outage(after_posts=0)
    result = notify(config, tmp_path, big, "run-1", T0)
    assert result.sent == 0 and result.pending >= 2
    slack.restore()
    flush(config, tmp_path)
    root, *rest = slack.posts
    assert "thread_ts" not in root and rest and all(p["thread_ts"] == root["ts"] for p in rest)


def test_unknown_channel_is_rerouted_to_the_fallback_with_a_note(
    shipped_config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    config = tuned(shipped_config, fallback_channel="#compliance-triage")
    slack.missing_channels.add("#data-eng")
    result = notify(config, tmp_path, [finding()], "run-1", T0)
    assert (result.sent, result.rerouted, result.pending) == (2, 1, 0)
    [post] = digest_posts(slack)
    assert post["channel"] == "#compliance-triage"
    assert "Could not post to #data-eng (channel_not_found)" in all_text(post)
    # follow-ups go to the thread where the digest actually landed
    notify(config, tmp_path, [], "run-2", T0 + timedelta(days=1))
    assert digest_posts(slack)[-1]["thread_ts"] == post["ts"]


def test_rejected_token_stops_delivery_and_keeps_messages(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    result = notify(config, tmp_path, [finding()], "run-1", T0)
    assert (result.sent, result.pending) == (0, 2)
    assert result.errors == ["run-1/001 to #data-eng: invalid_auth"]
    assert len(slack.method_calls("chat.postMessage")) == 1  # no point trying the rest with a bad token


def test_the_token_never_reaches_files_or_logs(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    slack.fail_next(1, 500)
    notify(config, tmp_path, [finding(owner="jane@example.com")], "run-1", T0)
    slack.stop()
    notify(config, tmp_path, [finding(name="b2", run_id="run-2")], "run-2", T0 + timedelta(days=1))
    written = "".join(p.read_text() for p in (tmp_path / "notify").iterdir() if p.is_file())
    assert slack.token not in written
    assert slack.token not in caplog.text
    assert all(c.authorized for c in slack.calls)


def test_webhook_mode_posts_every_message_to_the_webhook(
    shipped_config: Config,
    finding: FindingFactory,
    slack: SlackDouble,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url)
    config = tuned(shipped_config)
    slack.fail_next(1, 429, retry_after=0, methods=("webhook",))
    first = notify(config, tmp_path, [finding(), finding(name="bucket-b")], "run-1", T0)
    assert (first.channel, first.sent, first.pending) == ("webhook", 2, 0)
    assert {p["via"] for p in slack.posts} == {"webhook"}
    assert "intended for #data-eng" in all_text(slack.posts[0])
    assert not slack.method_calls("users.lookupByEmail")
    later = notify(config, tmp_path, [finding(run_id="run-2")], "run-2", T0 + timedelta(days=8))
    assert (later.reminders, later.resolved) == (1, 1)
    assert "thread_ts" not in slack.posts[-2]  # a webhook cannot thread: the follow-up stands alone
    written = "".join(p.read_text() for p in (tmp_path / "notify").iterdir() if p.is_file())
    assert "double-webhook-secret" not in written and "double-webhook-secret" not in caplog.text


def test_webhook_refusing_the_payload_is_recorded_and_retried_later(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url)
    slack.fail_next(1, 404, error="no_service", methods=("webhook",))
    result = notify(config, tmp_path, [finding()], "run-1", T0)
    assert (result.sent, result.pending) == (0, 2)
    assert result.errors[-1] == "run-1/001 to #data-eng: no_service"
    assert flush(config, tmp_path).pending == 0


def test_without_credentials_messages_go_to_the_outbox_and_console(
    config: Config, finding: FindingFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = notify(config, tmp_path, [finding(name="<!channel>")], "run-1", T0)
    assert (result.channel, result.pending, result.queued) == ("outbox", 0, 2)
    printed = capsys.readouterr().out
    # plain text on the console: `<!channel>` from a hostile name is shown, never sent unescaped to Slack
    assert "to #data-eng (digest)" in printed and "<!channel>" in printed and "&lt;" not in printed
    records = Outbox(Path(result.outbox_file)).records
    assert [r["purpose"] for r in records] == ["digest", "summary"]
    assert all(r["via"] == "outbox" for r in records)


def test_bot_mode_without_a_token_keeps_messages_pending_for_a_flush(
    shipped_config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tuned(shipped_config, delivery="bot")
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    result = notify(config, tmp_path, [finding()], "run-1", T0)
    assert (result.channel, result.pending) == ("slack", 2)
    assert "set SLACK_BOT_TOKEN or token_secret_block" in result.errors[0]
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    assert flush(config, tmp_path).sent == 2


def test_token_from_a_prefect_secret_block(
    shipped_config: Config,
    finding: FindingFactory,
    slack: SlackDouble,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prefect_harness: None,
) -> None:
    from prefect.blocks.system import Secret

    Secret(value=slack.token).save("complyflow-test-slack-token", overwrite=True)
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    config = tuned(shipped_config, token_secret_block="complyflow-test-slack-token")
    result = notify(config, tmp_path, [finding()], "run-1", T0)
    assert (result.channel, result.sent, result.errors) == ("slack", 2, [])
    assert all(c.authorized for c in slack.calls)


def test_a_missing_secret_block_is_reported_and_nothing_is_lost(
    shipped_config: Config, finding: FindingFactory, tmp_path: Path, prefect_harness: None
) -> None:
    config = tuned(shipped_config, token_secret_block="no-such-block")
    result = notify(config, tmp_path, [finding()], "run-1", T0)
    assert (result.channel, result.pending) == ("slack", 2)
    assert "Prefect Secret block 'no-such-block' could not be loaded" in result.errors[0]


def test_outbox_survives_a_torn_last_line(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    slack.stop()
    notify(config, tmp_path, [finding()], "run-1", T0)
    outbox = tmp_path / "notify" / "outbox.jsonl"
    with outbox.open("a") as handle:
        handle.write('{"kind": "sent", "id": "run-1/00')  # a crash mid-write
    slack.start()
    flushed = flush(config, tmp_path)
    assert (flushed.sent, flushed.pending) == (2, 0)
    lines = outbox.read_text().splitlines()
    assert sum(1 for line in lines if line.startswith('{"kind": "sent"')) == 1  # the torn fragment stays alone
    assert all(json.loads(line)["kind"] for line in lines if not line.startswith('{"kind": "sent"'))
