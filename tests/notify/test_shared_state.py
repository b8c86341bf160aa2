"""With an S3 evidence store, the outbox and notification state live in the store: runs on throw-away disks
(Kubernetes or ECS jobs) still deduplicate, thread and deliver what an outage left pending."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from complyflow.core.config import Config
from complyflow.core.deploy_config import S3StoreSpec
from complyflow.core.model import Finding
from tasks.evidence import LocalStore, S3Store
from tasks.notify.service import flush, notify_run
from tasks.notify.shared import LEASE_KEY, Lease, NotificationLeaseTimeout, notification_files
from tests.notify.conftest import T0, FindingFactory, summary_for
from tests.support.slack_double import SlackDouble

BUCKET = "acme-evidence"
OUTBOX, STATE = "notify/outbox.jsonl", "notify/state.json"


@pytest.fixture
def store() -> Iterator[S3Store]:
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        yield S3Store(S3StoreSpec(bucket=BUCKET), retention_days=30).check()


def _notify(config: Config, root: Path, store: Any, findings: list[Finding], run_id: str, now: datetime) -> Any:
    return notify_run(
        findings=findings,
        controls=config.controls,
        summary=summary_for(findings, run_id),
        lapsed=[],
        config=config,
        evidence_root=root,
        now=now,
        store=store,
    )


def test_a_run_on_a_fresh_disk_knows_what_was_announced_and_threads_under_it(
    config: Config, finding: FindingFactory, slack: SlackDouble, store: S3Store, tmp_path: Path
) -> None:
    first = _notify(config, tmp_path / "pod-1", store, [finding(name="bucket-a")], "run-1", T0)
    assert (first.new, first.sent) == (1, 2)
    assert store.exists(OUTBOX) and store.exists(STATE) and not store.exists(LEASE_KEY)

    later = [finding(name="bucket-a", run_id="run-2"), finding(name="bucket-b", run_id="run-2")]
    second = _notify(config, tmp_path / "pod-2", store, later, "run-2", T0 + timedelta(days=8))
    assert (second.new, second.reminders) == (1, 1)  # bucket-a is a reminder, not announced again
    root_ts = slack.posts[0]["ts"]
    assert any(p.get("thread_ts") == root_ts for p in slack.posts[2:])  # the reminder is in the first thread
    assert store.get_bytes(OUTBOX) == (tmp_path / "pod-2" / OUTBOX).read_bytes()


def test_what_an_outage_left_pending_is_delivered_from_another_machine(
    config: Config, finding: FindingFactory, slack: SlackDouble, store: S3Store, tmp_path: Path
) -> None:
    slack.outage(after_posts=0)
    down = _notify(config, tmp_path / "pod-1", store, [finding()], "run-1", T0)
    assert (down.sent, down.pending) == (0, 2)
    slack.restore()
    flushed = flush(config, tmp_path / "laptop", store)
    assert (flushed.sent, flushed.pending) == (2, 0)
    assert slack.message_ids() == ["run-1/001", "run-1/summary"]
    assert flush(config, tmp_path / "pod-3", store).sent == 0  # nothing twice, wherever it runs


def test_a_local_copy_ahead_of_the_store_is_kept_and_pushed(store: S3Store, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "notify").mkdir(parents=True)
    store.put_bytes(OUTBOX, b'{"a": 1}\n')
    (root / OUTBOX).write_bytes(b'{"a": 1}\n{"b": 2}\n')  # its last push failed
    with notification_files(root, OUTBOX, STATE, store):
        assert (root / OUTBOX).read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    assert store.get_bytes(OUTBOX) == b'{"a": 1}\n{"b": 2}\n'


def test_a_local_copy_that_disagrees_is_set_aside_not_deleted(store: S3Store, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "notify").mkdir(parents=True)
    store.put_bytes(OUTBOX, b'{"a": 1}\n{"c": 3}\n')
    (root / OUTBOX).write_bytes(b'{"a": 1}\n{"b": 2}\n')
    (root / STATE).write_text("{}")
    with notification_files(root, OUTBOX, STATE, store):
        assert (root / OUTBOX).read_bytes() == b'{"a": 1}\n{"c": 3}\n'
        assert not (root / STATE).exists()  # rebuilt from the journal by whoever loads it
    aside = sorted(p.name for p in (root / "notify").glob("*.diverged-*"))
    assert [name.split(".diverged-")[0] for name in aside] == ["outbox.jsonl", "state.json"]
    assert store.get_bytes(OUTBOX) == b'{"a": 1}\n{"c": 3}\n'  # unchanged, so not rewritten


def test_the_files_are_pushed_even_when_the_body_fails(store: S3Store, tmp_path: Path) -> None:
    root = tmp_path / "root"
    with pytest.raises(RuntimeError, match="boom"), notification_files(root, OUTBOX, STATE, store):
        (root / OUTBOX).write_bytes(b'{"sent": 1}\n')
        raise RuntimeError("boom")
    assert store.get_bytes(OUTBOX) == b'{"sent": 1}\n'
    assert not store.exists(LEASE_KEY)


def test_a_live_lease_makes_others_wait_then_fail_with_who_holds_it(store: S3Store, tmp_path: Path) -> None:
    other = Lease(store, "worker-7:123:1")
    other.acquire(0)
    with (
        pytest.raises(NotificationLeaseTimeout, match="in use by worker-7:123:1 until .*delete s3://"),
        notification_files(tmp_path, OUTBOX, STATE, store, wait_seconds=0),
    ):
        pass
    other.release()
    assert not store.exists(LEASE_KEY)
    with notification_files(tmp_path, OUTBOX, STATE, store, wait_seconds=0):
        assert store.exists(LEASE_KEY)
    assert not store.exists(LEASE_KEY)


def test_an_expired_or_unreadable_lease_is_taken_over(store: S3Store, tmp_path: Path) -> None:
    expired = datetime.now(UTC) - timedelta(minutes=1)
    store.put_bytes(LEASE_KEY, json.dumps({"holder": "crashed", "expires_at": expired.isoformat()}).encode())
    with notification_files(tmp_path, OUTBOX, STATE, store, wait_seconds=0):
        assert b"crashed" not in store.get_bytes(LEASE_KEY)
    store.put_bytes(LEASE_KEY, b"not json")
    with notification_files(tmp_path, OUTBOX, STATE, store, wait_seconds=0):
        pass
    assert not store.exists(LEASE_KEY)


def test_a_store_that_is_the_evidence_root_needs_no_lease(tmp_path: Path) -> None:
    local = LocalStore(tmp_path)
    with notification_files(tmp_path, OUTBOX, STATE, local, wait_seconds=0):
        (tmp_path / OUTBOX).write_bytes(b"x\n")
    assert not (tmp_path / LEASE_KEY).exists()


def test_a_run_whose_lease_expired_does_not_overwrite_the_next_holder(store: S3Store, tmp_path: Path) -> None:
    root = tmp_path / "slow-run"
    with notification_files(root, OUTBOX, STATE, store):
        (root / "notify").mkdir(parents=True, exist_ok=True)
        (root / OUTBOX).write_bytes(b'{"slow": 1}\n')
        store.put_bytes(OUTBOX, b'{"other": 1}\n')  # meanwhile another run took the expired lease and wrote
    assert store.get_bytes(OUTBOX) == b'{"other": 1}\n'
    [orphan] = [k for k in store.keys("notify/") if ".orphan-" in k]
    assert orphan.startswith(OUTBOX) and store.get_bytes(orphan) == b'{"slow": 1}\n'
    assert not store.exists(LEASE_KEY)


def test_when_the_push_fails_the_steps_own_error_is_raised_and_the_lease_released(
    store: S3Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refused(*_: Any, **__: Any) -> None:
        raise RuntimeError("AccessDenied")

    root = tmp_path / "root"
    with pytest.raises(ValueError, match="the step failed"), notification_files(root, OUTBOX, STATE, store):
        (root / "notify").mkdir(parents=True, exist_ok=True)
        (root / OUTBOX).write_bytes(b'{"sent": 1}\n')
        monkeypatch.setattr(store, "swap", refused)
        raise ValueError("the step failed")
    assert "could not push notify/outbox.jsonl" in caplog.text and "the only one now" in caplog.text
    monkeypatch.undo()
    assert not store.exists(LEASE_KEY)


def test_listing_and_routing_read_the_store_without_the_lease(
    config: Config, finding: FindingFactory, store: S3Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.notify.service import pending_messages, route_findings

    slack_down = _notify(config, tmp_path / "pod-1", store, [finding()], "run-1", T0)
    assert slack_down.channel == "outbox"  # no token: kept in the outbox, final
    Lease(store, "a-running-flow").acquire(0)  # a notification step in progress elsewhere
    writes: list[str] = []
    monkeypatch.setattr(store, "put_bytes", lambda key, data: writes.append(key))
    assert pending_messages(config, tmp_path / "laptop", store) == []
    routes = route_findings(
        findings=[finding(run_id="run-2")],
        controls=config.controls,
        config=config,
        evidence_root=tmp_path / "pod-2",
        store=store,
    )
    assert list(routes.values()) == ["owners.yaml:data-eng -> #data-eng"] and writes == []
    assert (tmp_path / "laptop" / OUTBOX).read_bytes() == store.get_bytes(OUTBOX)


def test_a_lease_without_a_time_zone_counts_as_unreadable(store: S3Store, tmp_path: Path) -> None:
    store.put_bytes(LEASE_KEY, json.dumps({"holder": "old", "expires_at": "2999-01-01T00:00:00"}).encode())
    with notification_files(tmp_path, OUTBOX, STATE, store, wait_seconds=0):
        assert b'"old"' not in store.get_bytes(LEASE_KEY)


def test_the_lease_is_renewed_while_a_long_step_runs(store: S3Store, tmp_path: Path) -> None:
    import time

    with notification_files(tmp_path, OUTBOX, STATE, store, lease_seconds=3):  # renewed every second
        first = store.read_versioned(LEASE_KEY)
        time.sleep(4.5)  # longer than the lease itself
        assert store.read_versioned(LEASE_KEY) != first  # rewritten meanwhile
        with pytest.raises(NotificationLeaseTimeout):
            Lease(store, "someone-else").acquire(0)
    assert not store.exists(LEASE_KEY)
