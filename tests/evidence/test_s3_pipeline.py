"""A nightly run and a pre-audit run sealing into an S3 store with Object Lock, staged on different disks."""

from __future__ import annotations

from pathlib import Path

import boto3
from moto import mock_aws

from complyflow.core.deploy_config import S3StoreSpec
from complyflow.demo import seed_demo_estate
from flows.nightly import nightly_compliance
from flows.pre_audit import pre_audit
from tasks.evidence import S3Store
from tasks.verify import verify_store


def test_runs_seal_into_the_configured_s3_store(prefect_harness: None, config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "evidence-store.yaml").write_text(
        "backend: s3\ns3:\n  bucket: evidence-bucket\n  object_lock: required\nretention_days: 30\n"
    )
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(
            Bucket="evidence-bucket", ObjectLockEnabledForBucket=True
        )
        seed_demo_estate()
        nightly_compliance(config_dir=str(config_dir), evidence_dir=str(tmp_path / "worker-a"))
        result = pre_audit(
            controls=["s3-bucket-default-encryption"],
            config_dir=str(config_dir),
            evidence_dir=str(tmp_path / "worker-b"),
        )  # another disk: the chain lives in S3
        pack = result["audit_pack"]
        assert pack["verified"] and len(pack["runs"]) == 2
        assert pack["url"].startswith("s3://evidence-bucket/complyflow/audit-packs/")
        report = verify_store(S3Store(S3StoreSpec(bucket="evidence-bucket"), 30).check())
        assert report.ok and len(report.runs_checked) == 2
