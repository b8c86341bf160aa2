"""The S3 evidence store on moto: one PutObject per file, versioning, Object Lock retention, verify, prune."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from complyflow.core.config import ConfigError
from complyflow.core.deploy_config import S3StoreSpec
from tasks.evidence import (
    CHAIN_HEAD,
    MANIFEST,
    ConcurrentSealError,
    EvidenceStoreError,
    S3Store,
    open_store,
    prune,
    read_chain_head,
)
from tasks.verify import verify_store
from tests.evidence.conftest import RUN_IDS, make_run

BUCKET = "acme-evidence"
FIRST, MIDDLE, LAST = RUN_IDS


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)  # also turns versioning on
        yield client


def _store(**spec: Any) -> S3Store:
    return S3Store(S3StoreSpec(bucket=BUCKET, **spec), retention_days=30).check()


def _sealed(tmp_path: Path, store: S3Store) -> None:
    for run_id in RUN_IDS:
        make_run(tmp_path / "staging", run_id, store=store)


def test_runs_land_one_object_per_file_with_object_lock_retention(s3: Any, tmp_path: Path) -> None:
    store = _store(prefix="/team-a/")
    assert store.object_lock and store.location == f"s3://{BUCKET}/team-a/"
    _sealed(tmp_path, store)
    keys = store.keys("runs/")
    assert len(keys) == 3 * 4 and all(k.startswith("runs/") for k in keys)
    head = s3.head_object(Bucket=BUCKET, Key=f"team-a/runs/{LAST}/{MANIFEST}")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    expected = datetime.now(UTC) + timedelta(days=30)
    assert abs((head["ObjectLockRetainUntilDate"] - expected).total_seconds()) < 120
    chain_head, _ = read_chain_head(store)
    assert chain_head is not None and chain_head.run_id == LAST
    assert store.url(CHAIN_HEAD) == f"s3://{BUCKET}/team-a/{CHAIN_HEAD}"
    assert verify_store(store).issues == []


def test_overwritten_object_is_detected_and_the_original_version_kept(s3: Any, tmp_path: Path) -> None:
    store = _store()
    _sealed(tmp_path, store)
    key = f"complyflow/runs/{MIDDLE}/evidence/s3_buckets.parquet"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"PAR1 forged")
    s3.delete_object(Bucket=BUCKET, Key=f"complyflow/runs/{FIRST}/findings/findings.csv")
    report = verify_store(store)
    assert {(i.kind, i.path) for i in report.issues} == {
        ("altered", f"runs/{MIDDLE}/evidence/s3_buckets.parquet"),
        ("missing", f"runs/{FIRST}/findings/findings.csv"),
    }
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]
    assert len(versions) == 2  # versioning kept the sealed original for recovery


def test_a_stale_chain_head_token_is_refused(s3: Any) -> None:
    store = _store()
    store.swap(CHAIN_HEAD, b"{}", None)
    with pytest.raises(ConcurrentSealError):
        store.swap(CHAIN_HEAD, b"{}", None)
    with pytest.raises(ConcurrentSealError):
        store.swap(CHAIN_HEAD, b"{}", '"not-the-etag"')


def test_prune_on_s3_keeps_manifests_and_verifies(s3: Any, tmp_path: Path) -> None:
    store = _store()
    _sealed(tmp_path, store)
    now = datetime(2026, 1, 13, tzinfo=UTC)
    assert prune(store, retention_days=10, now=now).pruned == [FIRST, MIDDLE]
    assert store.keys(f"runs/{FIRST}/") == [f"runs/{FIRST}/{MANIFEST}", f"runs/{FIRST}/pruned.json"]
    assert verify_store(store, retention_days=10, today=now.date()).issues == []


def test_bucket_without_versioning_is_refused_with_the_fix(s3: Any) -> None:
    s3.create_bucket(Bucket="plain-bucket")
    with pytest.raises(EvidenceStoreError, match="put-bucket-versioning --bucket plain-bucket"):
        S3Store(S3StoreSpec(bucket="plain-bucket"), 30).check()


def test_object_lock_required_but_absent_is_refused(s3: Any) -> None:
    s3.create_bucket(Bucket="versioned-only")
    s3.put_bucket_versioning(Bucket="versioned-only", VersioningConfiguration={"Status": "Enabled"})
    assert not S3Store(S3StoreSpec(bucket="versioned-only"), 30).check().object_lock
    with pytest.raises(EvidenceStoreError, match="object-lock-enabled-for-bucket"):
        S3Store(S3StoreSpec(bucket="versioned-only", object_lock="required"), 30).check()


def test_missing_bucket_is_named(s3: Any) -> None:
    with pytest.raises(EvidenceStoreError, match="no-such-bucket.*bucket not found"):
        S3Store(S3StoreSpec(bucket="no-such-bucket"), 30).check()


def test_kms_key_is_applied_to_every_object(s3: Any, tmp_path: Path) -> None:
    key_arn = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    store = _store(kms_key_id=key_arn, object_lock="off")
    assert not store.object_lock
    make_run(tmp_path, FIRST, store=store)
    head = s3.head_object(Bucket=BUCKET, Key=f"complyflow/runs/{FIRST}/{MANIFEST}")
    assert head["ServerSideEncryption"] == "aws:kms" and "ObjectLockMode" not in head


def test_open_store_follows_the_config(s3: Any, config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "evidence-store.yaml").write_text(f"backend: s3\ns3:\n  bucket: {BUCKET}\nretention_days: 365\n")
    store = open_store(config_dir)
    assert isinstance(store, S3Store) and store.object_lock and store.retention_days == 365
    (config_dir / "evidence-store.yaml").write_text("backend: s3\n")
    with pytest.raises(ConfigError, match=r"(?s)evidence-store.yaml.*needs an 's3:' section"):
        open_store(config_dir)
    (config_dir / "evidence-store.yaml").unlink()
    local = open_store(config_dir, tmp_path / "ev")
    assert local.location == str((tmp_path / "ev").resolve())


def test_local_staging_can_be_discarded_after_sealing(s3: Any, tmp_path: Path) -> None:
    store = _store()
    make_run(tmp_path / "staging", FIRST, store=store)
    shutil.rmtree(tmp_path / "staging")  # an ephemeral worker loses its disk
    make_run(tmp_path / "other-worker", MIDDLE, store=store)
    assert verify_store(store).issues == []
