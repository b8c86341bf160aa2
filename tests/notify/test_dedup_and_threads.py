"""Deduplication across runs by finding key, with follow-ups in the thread of the original message."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from complyflow.core.config import Config
from complyflow.core.model import Status
from tests.notify.conftest import T0, FindingFactory, all_text, digest_posts, notify, tuned
from tests.support.slack_double import SlackDouble


def test_new_then_reminder_then_resolved_in_the_original_thread(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    a, b = finding(name="bucket-a"), finding(name="bucket-b")

    first = notify(config, tmp_path, [a, b], "run-1", T0)
    assert (first.new, first.reminders, first.resolved, first.pending) == (2, 0, 0, 0)
    [digest] = digest_posts(slack)
    assert digest["channel"] == "#data-eng" and "thread_ts" not in digest
    assert "2 new violations" in all_text(digest)

    # 8 days later (weekly cadence): bucket-a still fails, bucket-b passes now.
    b_passes = finding(name="bucket-b", status=Status.PASS, observed="tls_only_policy = True", run_id="run-2")
    second = notify(
        config, tmp_path, [finding(name="bucket-a", run_id="run-2"), b_passes], "run-2", T0 + timedelta(days=8)
    )
    assert (second.new, second.reminders, second.resolved) == (0, 1, 1)
    follow_up = digest_posts(slack)[-1]
    assert follow_up["thread_ts"] == digest["ts"] and follow_up["channel"] == digest["channel_id"]
    text = all_text(follow_up)
    assert "bucket-a" in text and "open 8 days" in text
    assert "bucket-b" in text and "passes now (tls_only_policy = True)" in text

    # The next day bucket-a is fixed: closed with a resolved note in the same thread, nothing else.
    third = notify(
        config,
        tmp_path,
        [finding(name="bucket-a", status=Status.PASS, run_id="run-3")],
        "run-3",
        T0 + timedelta(days=9),
    )
    assert (third.new, third.reminders, third.resolved) == (0, 0, 1)
    closing = digest_posts(slack)[-1]
    assert closing["thread_ts"] == digest["ts"]
    assert ":white_check_mark: *Resolved since the last run* (1)" in all_text(closing)
    assert len(digest_posts(slack)) == 3  # announcement, one follow-up, one closing note
    state = json.loads((tmp_path / "notify" / "state.json").read_text())
    assert state["open"] == {}


def test_an_immediate_rerun_announces_nothing_and_posts_only_the_summary(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    findings = [finding(name="bucket-a"), finding("iam-user-console-mfa", "bob", owner="ml-research")]
    notify(config, tmp_path, findings, "run-1", T0)
    posts_after_first = len(slack.posts)
    again = notify(config, tmp_path, findings, "run-2", T0 + timedelta(hours=24))
    assert (again.new, again.reminders, again.resolved, again.digests) == (0, 0, 0, 0)
    new_posts = slack.posts[posts_after_first:]
    assert [p["channel"] for p in new_posts] == ["#compliance"]
    assert "This run: *0* new" in all_text(new_posts[0])


def test_reminders_follow_the_configured_cadence(
    shipped_config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    config = tuned(shipped_config, reminder_days=2, summary_channel=None)
    days = [0, 1, 2, 3, 4, 5]
    results = [notify(config, tmp_path, [finding()], f"run-{d}", T0 + timedelta(days=d)) for d in days]
    assert [(r.new, r.reminders) for r in results] == [(1, 0), (0, 0), (0, 1), (0, 0), (0, 1), (0, 0)]
    never = tuned(shipped_config, reminder_days=0, summary_channel=None)
    quiet = notify(never, tmp_path, [finding()], "run-30", T0 + timedelta(days=30))
    assert quiet.reminders == 0


def test_only_a_run_that_looked_again_resolves(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    notify(config, tmp_path, [finding(name="bucket-a")], "run-1", T0)
    day = T0 + timedelta(days=1)
    gap = finding(
        name="123456789012/us-east-1/s3",
        status=Status.ERROR,
        owner="platform-team",
        resource_type="EvidenceScope",
        message="evidence gap: ListBuckets failed with AccessDenied",
    )
    blind = notify(config, tmp_path, [gap], "run-2", day)
    assert (blind.resolved, blind.new) == (0, 1)  # S3 could not be read: bucket-a is not known to pass
    assert notify(config, tmp_path, [], "run-3", day, controls=["iam-root-mfa"]).resolved == 0
    assert notify(config, tmp_path, [], "run-4", day, accounts=["210987654321"]).resolved == 0
    full = notify(config, tmp_path, [], "run-5", day)
    assert full.resolved == 2  # bucket-a is gone and the evidence gap closed
    notes = [all_text(p) for p in digest_posts(slack) if "Resolved since the last run" in all_text(p)]
    assert any("bucket-a" in n and "no longer reported" in n for n in notes)


def test_excepted_and_passing_findings_are_never_announced(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    result = notify(
        config,
        tmp_path,
        [finding(status=Status.PASS), finding(name="b2", status=Status.EXCEPTED, exception_id="EXC-1")],
        "run-1",
        T0,
    )
    assert (result.new, result.digests, result.routes) == (0, 0, {})
    assert [p["channel"] for p in slack.posts] == ["#compliance"]


def test_an_open_violation_that_gets_excepted_is_closed_with_the_exception_named(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    notify(config, tmp_path, [finding()], "run-1", T0)
    excepted = finding(status=Status.EXCEPTED, exception_id="EXC-7", message="excepted until 2027-01-01 by ciso")
    result = notify(config, tmp_path, [excepted], "run-2", T0 + timedelta(days=1))
    assert result.resolved == 1
    assert "covered by exception EXC-7" in all_text(digest_posts(slack)[-1])


def test_a_destination_change_starts_a_new_top_level_digest(
    shipped_config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    notify(tuned(shipped_config), tmp_path, [finding()], "run-1", T0)
    moved = tuned(shipped_config, owners={"routes": {"data-eng": "#data-eng-alerts"}})
    result = notify(moved, tmp_path, [finding(run_id="run-2")], "run-2", T0 + timedelta(days=8))
    assert result.reminders == 1
    reminder = digest_posts(slack)[-1]
    assert reminder["channel"] == "#data-eng-alerts" and "thread_ts" not in reminder
    assert "open 8 days" in all_text(reminder)


def test_a_naive_now_is_taken_as_utc(config: Config, finding: FindingFactory, tmp_path: Path) -> None:
    notify(config, tmp_path, [finding()], "run-1", T0)
    later = notify(config, tmp_path, [finding()], "run-2", (T0 + timedelta(days=7)).replace(tzinfo=None))
    assert later.reminders == 1
