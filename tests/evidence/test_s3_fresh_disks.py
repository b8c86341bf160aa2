"""Nightly runs on throw-away disks (Kubernetes or ECS jobs) with an S3 store: the second sees the first's runs
and announcements through the bucket. Its own file, so that pytest-xdist runs it beside test_s3_pipeline.py."""

from __future__ import annotations

from pathlib import Path

import boto3
from moto import mock_aws

from complyflow.demo import seed_demo_estate
from flows.nightly import nightly_compliance


def test_a_nightly_on_a_fresh_disk_sees_past_runs_and_past_announcements(
    prefect_harness: None, config_dir: Path, tmp_path: Path
) -> None:
    (config_dir / "evidence-store.yaml").write_text("backend: s3\ns3:\n  bucket: evidence-bucket\nretention_days: 30\n")
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(
            Bucket="evidence-bucket", ObjectLockEnabledForBucket=True
        )
        seed_demo_estate()
        first = nightly_compliance(config_dir=str(config_dir), evidence_dir=str(tmp_path / "pod-1"))
        second = nightly_compliance(config_dir=str(config_dir), evidence_dir=str(tmp_path / "pod-2"))
    assert first["notifications"]["new"] > 0
    assert second["notifications"]["new"] == 0  # announced by the first pod; the state came from the bucket
    report = (Path(second["run_dir"]) / "report.html").read_text(encoding="utf-8")
    assert "2 runs from" in report  # the trend read the first run from the bucket, not the empty local disk
