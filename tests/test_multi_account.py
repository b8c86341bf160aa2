"""Two accounts in one run: ambient credentials for one, STS AssumeRole (with external id) for the other."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import yaml

from complyflow.core.config import load_config
from flows.nightly import nightly_compliance
from tasks.collect import TABLE_SOURCES
from tests.support.api_calls import recorded_actions
from tests.support.faults import denied

SECOND = "222222222222"
ROLE = f"arn:aws:iam::{SECOND}:role/complyflow-read-only"
THIRD_ROLE = "arn:aws:iam::333333333333:role/complyflow-read-only"


def _second_account_session() -> boto3.Session:
    creds = boto3.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="seed", ExternalId="ext-123")["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    )


@pytest.mark.usefixtures("aws", "prefect_harness")
def test_two_accounts_via_assume_role_with_an_evidence_gap_in_one(config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "scope.yaml").write_text(
        yaml.safe_dump(
            {
                "global_region": "us-east-1",
                "regions": ["us-east-1", "eu-west-1"],
                "accounts": [
                    {"name": "main", "owner": "main-team"},
                    {"name": "second", "role_arn": ROLE, "external_id": "ext-123", "owner": "second-team"},
                    {"name": "third", "id": "333333333333", "role_arn": THIRD_ROLE, "owner": "third-team"},
                ],
            }
        )
    )
    boto3.client("logs").create_log_group(logGroupName="/main/app")
    second = _second_account_session()
    second.client("logs", region_name="eu-west-1").create_log_group(logGroupName="/second/app")
    second.client("s3").create_bucket(Bucket="second-account-bucket")
    assert second.client("sts").get_caller_identity()["Account"] == SECOND

    third_denied = denied("AssumeRole", when=lambda params: params["RoleArn"] == THIRD_ROLE)
    with recorded_actions() as actions, denied("DescribeLogGroups", "us-east-1"), third_denied:
        result = nightly_compliance(config_dir=str(config_dir), evidence_dir=str(tmp_path / "evidence"))

    assert "sts:AssumeRole" in actions
    assert set(result["scope"]["accounts"]) == {"123456789012", SECOND, "333333333333"}
    all_findings = json.loads((Path(result["run_dir"]) / "findings" / "findings.json").read_text())["findings"]
    third = [f for f in all_findings if f["account"] == "333333333333"]
    controls = load_config(config_dir).controls
    per_account = {c.id for c in controls if TABLE_SOURCES[c.evidence_table].scope != "organization"}
    # The access-review tables are built by the run from each account's IAM principals: an unreadable account
    # is an ERROR there too, never a review that looks complete.
    per_account |= {"iam-access-review-completed", "iam-access-review-revocations-done"}
    assert {f["control_id"] for f in third} == per_account
    assert {(f["status"], f["owner"]) for f in third} == {("ERROR", "third-team")}
    assert all("sts:AssumeRole failed with AccessDenied" in f["message"] for f in third)
    findings = [f for f in all_findings if f["account"] != "333333333333"]
    logs = {
        (f["account"], f["region"], f["resource_name"], f["status"], f["owner"])
        for f in findings
        if f["control_id"] == "logs-retention-365"
    }
    assert logs == {
        ("123456789012", "us-east-1", "123456789012/us-east-1/logs", "ERROR", "main-team"),
        (SECOND, "us-east-1", f"{SECOND}/us-east-1/logs", "ERROR", "second-team"),
    }
    never = {(f["resource_name"], f["status"]) for f in findings if f["control_id"] == "logs-retention-policy-set"}
    assert ("/second/app", "FAIL") in never  # it never expires: judged by its own control
    buckets = {(f["account"], f["resource_name"]) for f in findings if f["control_id"] == "s3-bucket-sse-kms"}
    assert buckets == {(SECOND, "second-account-bucket")}
    per_account_errors = [f for f in all_findings if f["status"] == "ERROR" and f["control_id"] in per_account]
    log_controls = [c.id for c in controls if c.evidence_table == "log_groups"]
    assert len(log_controls) >= 3  # retention, never-expires, AI-log KMS
    assert len(per_account_errors) == 2 * len(log_controls) + len(third)  # two denied log scopes, each control
