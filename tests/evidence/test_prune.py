"""Retention pruning: evidence past the period is removed, the chain stays verifiable, forgeries show."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tasks.evidence import MANIFEST, TOMBSTONE, LocalStore, prune, sha256_file
from tasks.verify import verify_store
from tests.evidence.conftest import RUN_IDS

FIRST, MIDDLE, LAST = RUN_IDS
NOW = datetime(2026, 1, 13, 12, tzinfo=UTC)  # FIRST is 12 days old, MIDDLE 11, LAST 10


def test_prune_removes_old_evidence_and_keeps_the_chain(root: Path) -> None:
    store = LocalStore(root)
    manifest_hash = sha256_file(root / "runs" / FIRST / MANIFEST)
    result = prune(store, retention_days=10, now=NOW)
    assert result.pruned == [FIRST, MIDDLE]
    assert store.keys(f"runs/{FIRST}/") == [f"runs/{FIRST}/{MANIFEST}", f"runs/{FIRST}/{TOMBSTONE}"]
    tombstone = json.loads((root / "runs" / FIRST / TOMBSTONE).read_text())
    assert tombstone["manifest_sha256"] == manifest_hash
    assert tombstone["files_removed"] == [
        "evidence/s3_buckets.parquet",
        "findings/findings.csv",
        "findings/findings.json",
    ]
    assert len(store.keys(f"runs/{LAST}/")) == 4  # within retention: untouched
    report = verify_store(store, retention_days=10, today=NOW.date())
    assert report.ok and report.issues == []
    assert prune(store, retention_days=10, now=NOW).pruned == []  # idempotent


def test_dry_run_lists_without_deleting(root: Path) -> None:
    store = LocalStore(root)
    before = store.keys()
    assert prune(store, retention_days=10, now=NOW, dry_run=True).pruned == [FIRST, MIDDLE]
    assert store.keys() == before


def test_old_unsealed_runs_are_skipped_and_reported(root: Path) -> None:
    crashed = root / "runs" / "20251201T020000Z-ffffff"
    crashed.mkdir(parents=True)
    (crashed / "partial.parquet").write_bytes(b"PAR1")
    result = prune(LocalStore(root), retention_days=10, now=NOW)
    assert result.skipped_unsealed == ["20251201T020000Z-ffffff"]
    assert (crashed / "partial.parquet").exists()


def test_forged_tombstone_on_a_young_run_is_detected(root: Path) -> None:
    store = LocalStore(root)
    prune(store, retention_days=10, now=NOW)
    run = root / "runs" / LAST
    tombstone = {
        "run_id": LAST,
        "manifest_sha256": sha256_file(run / MANIFEST),
        "pruned_at": NOW.isoformat(),
        "retention_days": 1,
        "files_removed": [],
    }
    (run / TOMBSTONE).write_text(json.dumps(tombstone))
    (run / "evidence" / "s3_buckets.parquet").unlink()  # hide a deletion behind the tombstone
    report = verify_store(store, retention_days=10, today=NOW.date())
    assert {(i.kind, i.path) for i in report.issues} == {("pruned-early", f"runs/{LAST}/{TOMBSTONE}")}


def test_edited_manifest_of_a_pruned_run_is_still_detected(root: Path) -> None:
    store = LocalStore(root)
    prune(store, retention_days=10, now=NOW)
    path = root / "runs" / FIRST / MANIFEST
    path.write_text(path.read_text().replace('"test"', '"rewritten"'))
    issues = {(i.kind, i.path) for i in verify_store(store, retention_days=10, today=NOW.date()).issues}
    assert issues == {("altered", f"runs/{FIRST}/{MANIFEST}"), ("altered", f"runs/{FIRST}/{TOMBSTONE}")}
