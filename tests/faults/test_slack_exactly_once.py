"""Exactly-once Slack: a post whose outcome is unknown is looked up, not posted again (issue 16, item 3).

Slack can accept a message and the sender never learn it: the answer arrives after the client's
timeout, the connection drops after the request went out, or the process dies before writing the
acknowledgement. Every message carries its outbox id in Slack message metadata, so before posting again
delivery reads the channel (or thread) back and records the message as sent when it is already there.
Also here: a Retry-After beyond the configured cap leaves messages in the outbox instead of holding the
run, and the bot token never travels over plain http to another machine.
"""

# ruff: noqa: F811 - the notification tests' fixtures are imported below and requested by name

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from complyflow.core.config import Config, ConfigError, NotifySettings, load_config
from tasks.notify.outbox import Outbox
from tasks.notify.service import NotifyError, flush
from tests.notify.conftest import (  # noqa: F401 - fixtures, shared with the notification tests
    T0,
    FindingFactory,
    _no_slack_env,
    config,
    finding,
    notify,
    shipped_config,
    slack,
    summary_for,
    tuned,
)
from tests.support.slack_double import SlackDouble

REPO = Path(__file__).resolve().parents[2]
OWNERS = ("data-eng", "ml-research", "platform-team", "security-team")
RUN_1 = [f"run-1/{n:03d}" for n in range(1, len(OWNERS) + 1)] + ["run-1/summary"]


def _findings(finding: FindingFactory, run_id: str = "run-1") -> list[Any]:
    """One failing bucket per owner: one digest each, plus the run summary."""
    return [finding(name=f"bucket-{owner}", owner=owner, run_id=run_id) for owner in OWNERS]


def _pending(config: Config, root: Path) -> list[str]:
    return [p.record["id"] for p in Outbox(root / config.notify.outbox_file).pending()]


def _exactly_once(slack: SlackDouble, expected: list[str]) -> None:
    counts = slack.post_counts()
    assert sorted(counts) == sorted(expected)
    assert {k: v for k, v in counts.items() if v != 1} == {}  # no message twice


# --- (a) Slack answers after the client gave up ------------------------------------------------


def test_answers_after_the_timeout_leave_every_message_in_slack_exactly_once(
    shipped_config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    config = tuned(shipped_config, timeout_seconds=1)
    slack.answer_late(3)  # every post is accepted at once but answered after the client's timeout
    slack.on_accept = lambda post: slack.chatter(post["channel_id"], 5)  # people keep talking after each post
    slack.max_page = 2  # so the look-up pages back through the channel's history
    result = notify(config, tmp_path, _findings(finding), "run-1", T0)
    flushed = flush(config, tmp_path)
    _exactly_once(slack, RUN_1)
    assert (result.sent, result.found, result.pending) == (len(RUN_1), len(RUN_1), 0)
    assert (flushed.sent, flushed.pending) == (0, 0)
    assert _pending(config, tmp_path) == []
    lookups = slack.method_calls("conversations.history")
    assert lookups and all(c.params.get("include_all_metadata") in ("1", "true", True) for c in lookups)
    assert sum(1 for c in lookups if c.params.get("cursor")) >= 2 * len(RUN_1)  # three pages per look-up
    assert all(float(c.params["oldest"]) > time.time() - 3600 for c in lookups)  # from the first attempt on


def test_a_reply_answered_late_is_found_in_its_thread(
    shipped_config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    config = tuned(shipped_config, timeout_seconds=1, summary_channel=None)
    notify(config, tmp_path, [finding()], "run-1", T0)
    [root] = slack.posts
    slack.answer_late(3)
    later = notify(config, tmp_path, [finding(run_id="run-2")], "run-2", T0 + timedelta(days=8))  # a reminder
    assert (later.reminders, later.sent, later.pending) == (1, 1, 0)
    _exactly_once(slack, ["run-1/001", "run-2/001"])
    assert slack.posts[-1]["thread_ts"] == root["ts"]
    [lookup] = slack.method_calls("conversations.replies")
    assert lookup.params["ts"] == root["ts"]


def test_a_direct_message_answered_late_is_found_in_the_bots_conversation_with_the_user(
    shipped_config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    config = tuned(shipped_config, timeout_seconds=1, summary_channel=None)
    slack.answer_late(3)
    result = notify(config, tmp_path, [finding(owner="jane@example.com")], "run-1", T0)
    assert (result.sent, result.pending) == (1, 0)
    _exactly_once(slack, ["run-1/001"])
    [opened] = slack.method_calls("conversations.open")  # user id → the direct message's channel id
    assert opened.params["users"] == "U0JANE0001"
    assert slack.method_calls("conversations.history")[-1].params["channel"] == "D0JANE0001"


def test_a_connection_dropped_after_the_send_is_looked_up_not_posted_again(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    slack.drop_answers(2)  # the first two posts reach Slack, their answers never reach the sender
    result = notify(config, tmp_path, _findings(finding), "run-1", T0)
    assert (result.sent, result.pending) == (len(RUN_1), 0)
    _exactly_once(slack, RUN_1)
    assert len(slack.method_calls("conversations.history")) >= 2


def test_without_the_scopes_to_look_up_a_message_that_may_be_in_slack_stays_pending(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    slack.drop_answers(1)
    slack.fail_next(3, 200, error="missing_scope", methods=("conversations.history",))
    result = notify(config, tmp_path, [finding()], "run-1", T0)
    assert (result.sent, result.pending) == (0, 2)  # an auth problem stops the round: nothing posted unchecked
    assert "cannot be checked now (missing_scope; the bot needs channels:history" in result.errors[0]
    assert slack.message_ids() == ["run-1/001"]
    slack.restore()  # the scopes were granted
    assert flush(config, tmp_path).sent == 2
    _exactly_once(slack, ["run-1/001", "run-1/summary"])


def test_during_an_outage_nothing_is_posted_unchecked_and_the_flush_sends_the_rest_once(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    slack.outage(after_posts=1)  # the second post gets no answer at all, nor does anything after it
    down = notify(config, tmp_path, _findings(finding), "run-1", T0)
    assert (down.sent, down.pending) == (1, len(RUN_1) - 1)
    slack.restore()
    flushed = flush(config, tmp_path)
    assert (flushed.sent, flushed.pending) == (len(RUN_1) - 1, 0)
    _exactly_once(slack, RUN_1)


# --- (b) the poster dies after Slack accepted, before the acknowledgement was written ----------

CHILD = """
import pickle, sys
from tasks.notify.service import notify_run
notify_run(**pickle.loads(open(sys.argv[1], "rb").read()))
"""


def test_a_kill_after_slack_accepted_does_not_post_twice_on_the_next_flush(
    shipped_config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    config = tuned(shipped_config)
    findings = _findings(finding)
    arguments = tmp_path / "notify_run.pickle"
    arguments.write_bytes(
        pickle.dumps(
            {
                "findings": findings,
                "controls": config.controls,
                "summary": summary_for(findings, "run-1"),
                "lapsed": [],
                "config": config,
                "evidence_root": tmp_path,
                "now": T0,
            }
        )
    )
    env = {**os.environ, "SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(arguments)], cwd=REPO, env=env)  # noqa: S603

    def kill_at_the_second_post(post: dict[str, Any]) -> None:
        if len(slack.posts) == 2:  # Slack has it; the poster dies before reading the answer
            os.kill(child.pid, signal.SIGKILL)

    slack.on_accept = kill_at_the_second_post
    assert child.wait(timeout=120) == -signal.SIGKILL
    slack.on_accept = None
    assert slack.message_ids() == RUN_1[:2]
    assert _pending(config, tmp_path) == RUN_1[1:]  # the second one is in Slack but not acknowledged

    flushed = flush(config, tmp_path)
    assert (flushed.sent, flushed.found, flushed.pending) == (len(RUN_1) - 1, 1, 0)
    _exactly_once(slack, RUN_1)
    assert flush(config, tmp_path).sent == 0


def test_an_exit_before_the_acknowledgement_is_written_does_not_post_twice(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Outbox.mark_sent

    def exit_at_the_third(self: Outbox, message_id: str, **kwargs: Any) -> dict[str, Any]:
        if message_id == RUN_1[2]:
            raise SystemExit(137)  # as if killed between Slack's answer and the outbox write
        return real(self, message_id, **kwargs)

    with monkeypatch.context() as patched, pytest.raises(SystemExit):  # never swallowed as a notification failure
        patched.setattr(Outbox, "mark_sent", exit_at_the_third)
        notify(config, tmp_path, _findings(finding), "run-1", T0)
    assert slack.message_ids() == RUN_1[:3]
    flushed = flush(config, tmp_path)
    assert (flushed.sent, flushed.pending) == (len(RUN_1) - 2, 0)
    _exactly_once(slack, RUN_1)


# --- (c) Retry-After beyond the cap ------------------------------------------------------------


@pytest.mark.parametrize(("answers", "retry_after"), [(1, 40), (50, 2)], ids=["one-long-wait", "many-short-waits"])
def test_retry_after_beyond_the_cap_leaves_messages_in_the_outbox_for_the_next_flush(
    shipped_config: Config,
    finding: FindingFactory,
    slack: SlackDouble,
    tmp_path: Path,
    answers: int,
    retry_after: int,
) -> None:
    config = tuned(shipped_config, max_retry_after_seconds=5, max_retries=10)
    slack.fail_next(answers, 429, error="ratelimited", retry_after=retry_after, methods=("chat.postMessage",))
    started = time.monotonic()
    result = notify(config, tmp_path, [finding()], "run-1", T0)
    assert time.monotonic() - started < 8  # never the 40 s asked for, nor 50 waits of 2 s
    assert (result.sent, result.pending) == (0, 2)
    assert _pending(config, tmp_path) == ["run-1/001", "run-1/summary"]
    assert "max_retry_after_seconds" in result.errors[-1]
    slack.restore()
    flushed = flush(config, tmp_path)
    assert (flushed.sent, flushed.pending) == (2, 0)
    _exactly_once(slack, ["run-1/001", "run-1/summary"])


def test_max_retry_after_seconds_defaults_to_a_minute() -> None:
    assert NotifySettings().max_retry_after_seconds == 60


# --- (d) the bot token never goes over plain http to another machine ---------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://slack.example.com/api/",
        "http://10.0.0.8:8080/api/",
        "http://127.0.0.1.example.com/api/",
        "http://localhost.example.com/api/",
    ],
)
def test_plain_http_to_another_host_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="use https"):
        NotifySettings(slack_api_url=url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/api/", "http://127.3.4.5/api", "http://localhost:9/api/", "http://[::1]:9/api/"]
)
def test_plain_http_to_this_machine_is_accepted(url: str) -> None:
    assert NotifySettings(slack_api_url=url).slack_api_url == url.rstrip("/") + "/"


def test_the_config_file_error_names_file_field_and_reason(tmp_path: Path) -> None:
    import shutil

    configs = tmp_path / "configs"
    shutil.copytree(REPO / "configs", configs)
    with (configs / "notify.yaml").open("a") as handle:
        handle.write("slack_api_url: http://slack.example.com/api/\n")
    with pytest.raises(ConfigError) as raised:
        load_config(configs)
    message = str(raised.value)
    assert "notify.yaml: invalid" in message and "field slack_api_url:" in message and "use https" in message


def test_a_plain_http_slack_api_url_override_is_refused_and_nothing_is_lost(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_API_URL", "http://slack-proxy.example.com/api/")
    result = notify(config, tmp_path, [finding()], "run-1", T0)
    assert (result.channel, result.sent, result.pending) == ("slack", 0, 2)  # kept for a flush, not dropped
    assert any("SLACK_API_URL" in e and "use https" in e for e in result.errors)
    with pytest.raises(NotifyError, match="SLACK_API_URL"):
        flush(config, tmp_path)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)  # http, but to this machine
    assert flush(config, tmp_path).sent == 2


def test_a_plain_http_webhook_url_to_another_host_is_refused_without_showing_it(
    config: Config, finding: FindingFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "http://hooks.example.com/services/T0/B0/webhook-secret")
    result = notify(config, tmp_path, [finding()], "run-1", T0)
    assert (result.channel, result.sent, result.pending) == ("webhook", 0, 2)
    assert any("SLACK_WEBHOOK_URL" in e and "use https" in e for e in result.errors)
    assert not any("webhook-secret" in e for e in result.errors)


# --- a notification failure after the seal never fails the evidence run ---------------------------


def test_a_held_outbox_lock_is_reported_not_raised_and_the_next_run_announces_instead(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl
    from functools import partial

    from tasks.notify import shared
    from tasks.notify.outbox import exclusive

    monkeypatch.setattr(shared, "exclusive", partial(exclusive, timeout=0.5))
    lock = tmp_path / "notify" / "outbox.jsonl.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # another run or flush is at work
        result = notify(config, tmp_path, [finding()], "run-1", T0)
        fcntl.flock(held.fileno(), fcntl.LOCK_UN)
    assert (result.sent, result.queued) == (0, 0)
    assert "outbox lock" in result.stopped and any("outbox lock" in e for e in result.errors)
    assert result.to_dict()["stopped"] == result.stopped
    assert slack.posts == []
    later = notify(config, tmp_path, [finding(run_id="run-2")], "run-2", T0 + timedelta(days=1))
    assert (later.new, later.sent, later.stopped) == (1, 2, "")  # what run-1 could not announce is announced now


def test_a_programming_error_in_the_notification_step_still_propagates(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.notify.delivery import Deliverer

    def broken(self: Deliverer, report: Any = None) -> Any:
        return {}["no such key"]

    monkeypatch.setattr(Deliverer, "run", broken)
    with pytest.raises(KeyError):
        notify(config, tmp_path, [finding()], "run-1", T0)
