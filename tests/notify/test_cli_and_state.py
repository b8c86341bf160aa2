"""`complyflow notify [--flush]`, and the state's recovery from crashes and concurrent senders."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from complyflow.cli import app
from complyflow.core.config import Config
from tasks.notify.service import flush
from tests.notify.conftest import T0, FindingFactory, notify
from tests.support.slack_double import SlackDouble

CONFIGS = str(Path(__file__).resolve().parents[2] / "configs")


def test_cli_lists_pending_messages_then_flushes_them(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    args = ["notify", "--evidence-dir", str(tmp_path), "--config", CONFIGS]
    assert runner.invoke(app, args).output.startswith("nothing pending")
    slack.stop()
    notify(config, tmp_path, [finding()], "run-1", T0)
    listing = runner.invoke(app, args)
    assert listing.exit_code == 1
    assert "2 message(s) pending" in listing.output and "run-1/001" in listing.output
    assert "complyflow notify --flush" in listing.output

    monkeypatch.delenv("SLACK_BOT_TOKEN")
    refused = runner.invoke(app, [*args, "--flush"])
    assert refused.exit_code == 2 and "without Slack credentials" in refused.output

    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    slack.start()
    flushed = runner.invoke(app, [*args, "--flush"])
    assert flushed.exit_code == 0, flushed.output
    assert "sent 2 message(s) via slack; 0 still pending" in flushed.output
    assert slack.message_ids() == ["run-1/001", "run-1/summary"]
    assert runner.invoke(app, [*args, "--flush"]).output.startswith("sent 0 message(s)")


def test_cli_reports_a_bad_config_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "configs"
    shutil.copytree(CONFIGS, bad)
    (bad / "notify.yaml").write_text("slack_api_url: ftp://example.com\nreminder_days: -1\n")
    result = CliRunner().invoke(app, ["notify", "--config", str(bad), "--evidence-dir", str(tmp_path)])
    output = result.output.replace("\n", "")  # rich wraps long lines
    assert result.exit_code == 2
    assert "configs/notify.yaml: invalid" in output
    assert "field slack_api_url: Value error, 'ftp://example.com' is not an http(s) URL" in output
    assert "field reminder_days: Input should be greater than or equal to 0" in output


def test_a_crash_between_outbox_and_state_neither_loses_nor_repeats(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    state = tmp_path / "notify" / "state.json"
    notify(config, tmp_path, [finding(name="bucket-a")], "run-1", T0)
    before = state.read_bytes()
    notify(config, tmp_path, [finding(name="bucket-a"), finding(name="bucket-b")], "run-2", T0 + timedelta(days=1))
    state.write_bytes(before)  # as if run-2 died after writing the outbox, before saving the state
    third = notify(
        config, tmp_path, [finding(name="bucket-a"), finding(name="bucket-b")], "run-3", T0 + timedelta(days=2)
    )
    assert (third.new, third.reminders, third.resolved) == (0, 0, 0)
    assert "bucket-b" in json.dumps(json.loads(state.read_text())["open"])


def test_an_unreadable_state_is_kept_aside_and_rebuilt_from_the_outbox(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    state = tmp_path / "notify" / "state.json"
    notify(config, tmp_path, [finding()], "run-1", T0)
    state.write_text("{ not json")
    again = notify(config, tmp_path, [finding()], "run-2", T0 + timedelta(days=1))
    assert (again.new, again.reminders) == (0, 0)
    assert [p.name for p in state.parent.glob("state.json.unreadable-*")]
    rebuilt = json.loads(state.read_text())
    assert rebuilt["threads"]["run-1/001"]["ts"] == slack.posts[0]["ts"]  # thread ids came back too


def test_concurrent_flushes_send_each_message_once(
    config: Config, finding: FindingFactory, slack: SlackDouble, tmp_path: Path
) -> None:
    slack.outage()
    notify(
        config,
        tmp_path,
        [
            finding(name=f"b{i}", owner=o)
            for i, o in enumerate(("data-eng", "ml-research", "platform-team", "security-team"))
        ],
        "run-1",
        T0,
    )
    slack.restore()
    threads = [threading.Thread(target=flush, args=(config, tmp_path)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = slack.message_ids()
    assert sorted(ids) == ["run-1/001", "run-1/002", "run-1/003", "run-1/004", "run-1/summary"]
