"""The nightly flow end to end on an emulated estate: exact findings, evidence, manifest and outbox."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from moto import mock_aws

from complyflow.core.config import load_iam_policy
from complyflow.demo import seed_demo_estate
from flows.nightly import nightly_compliance
from tests.drift.test_drift_flow import DEMO_MODEL_FAILURES
from tests.support.api_calls import allowed_actions, is_allowed, recorded_actions
from tests.vendors.test_demo_register import DEMO_VENDOR_FAILURES, DEMO_VENDOR_OWNERS

EXPECTED_FAILURES = (
    {
        ("iam-user-console-mfa", "bob"),
        ("iam-access-key-rotation", "bob access key 1"),
        ("iam-access-key-unused", "erin access key 1"),
        ("iam-password-unused", "erin"),
        ("iam-user-no-admin-policy", "dave"),
        ("iam-root-mfa", "ml-platform"),
        ("s3-bucket-sse-kms", "demo-raw-uploads"),
        ("s3-bucket-tls-only", "demo-raw-uploads"),
        ("s3-bucket-default-encryption", "demo-eu-features"),
        ("s3-bucket-sse-kms", "demo-eu-features"),
        ("ec2-ebs-default-encryption", "ml-platform eu-west-1"),
        ("rds-storage-encrypted", "demo-legacy-db"),
        ("dynamodb-cmk-encryption", "demo-feature-cache"),
        ("sagemaker-notebook-kms", "demo-scratch-nb"),
        ("kms-key-rotation", "legacy-exports"),
        ("logs-retention-365", "/demo/training"),
        ("logs-retention-365", "/demo/eu-api"),
        ("cloudtrail-multi-region", "demo-debug-trail"),
        ("cloudtrail-log-file-validation", "demo-debug-trail"),
        ("s3-bucket-tls-only", "demo-model-monitoring"),  # moto cannot read back through a TLS-only policy
    }
    | DEMO_VENDOR_FAILURES
    | DEMO_MODEL_FAILURES
)


CALLED_ACTIONS: list[str] = []


@pytest.fixture(scope="module")
def demo_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with mock_aws():
        seed_demo_estate()
        with recorded_actions() as actions:
            result = nightly_compliance(evidence_dir=str(tmp_path_factory.mktemp("run") / "evidence"))
        CALLED_ACTIONS[:] = actions
        yield result


def _findings(result: dict) -> list[dict]:
    return json.loads((Path(result["run_dir"]) / "findings" / "findings.json").read_text())["findings"]


def test_exact_violations_of_the_demo_estate(demo_run: dict) -> None:
    findings = _findings(demo_run)
    failures = {(f["control_id"], f["resource_name"]) for f in findings if f["status"] == "FAIL"}
    assert failures == EXPECTED_FAILURES
    excepted = [(f["control_id"], f["resource_name"], f["exception_id"]) for f in findings if f["status"] == "EXCEPTED"]
    assert excepted == [("logs-retention-365", "/demo/scratch-1", "EXC-2026-001")]
    assert not [f for f in findings if f["status"] == "ERROR"]
    assert demo_run["counts"]["FAIL"] == len(EXPECTED_FAILURES)


def test_not_applicable_resources_have_no_finding(demo_run: dict) -> None:
    findings = _findings(demo_run)
    kms = {f["resource_name"]: f["status"] for f in findings if f["control_id"] == "kms-key-rotation"}
    assert kms == {"ml-data": "PASS", "legacy-exports": "FAIL"}  # the disabled key is not applicable
    mfa = {f["resource_name"] for f in findings if f["control_id"] == "iam-user-console-mfa"}
    assert "carol" not in mfa  # no console password
    rotation = {f["resource_name"] for f in findings if f["control_id"] == "iam-access-key-rotation"}
    assert "carol access key 1" not in rotation  # inactive keys do not count
    assert "carol access key 2" in rotation


def test_findings_are_routed_to_owner_tags_then_account_owner(demo_run: dict) -> None:
    findings = {(f["control_id"], f["resource_name"]): f for f in _findings(demo_run)}
    assert findings[("iam-user-console-mfa", "bob")]["owner"] == "data-eng"
    assert findings[("iam-user-console-mfa", "bob")]["owner_route"] == "tag:owner"
    assert findings[("iam-user-no-admin-policy", "dave")]["owner"] == "platform-team"
    assert findings[("iam-user-no-admin-policy", "dave")]["owner_route"] == "account"


def test_evidence_manifest_and_findings_agree(demo_run: dict) -> None:
    run_dir = Path(demo_run["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["previous_manifest_sha256"] is None
    for relative, entry in manifest["files"].items():
        assert hashlib.sha256((run_dir / relative).read_bytes()).hexdigest() == entry["sha256"], relative
    assert "evidence/s3_buckets.parquet" in manifest["files"]
    buckets = pd.read_parquet(run_dir / "evidence" / "s3_buckets.parquet")
    for finding in _findings(demo_run):
        if finding["control_id"].startswith("s3-"):
            assert finding["evidence_file"] == "evidence/s3_buckets.parquet"
            assert finding["resource_arn"] in set(buckets["resource_arn"])
    csv = (run_dir / "findings" / "findings.csv").read_text()
    assert csv.count("\n") == len(_findings(demo_run)) + 1


def test_outbox_digests_list_every_violation_for_its_owner(demo_run: dict) -> None:
    notes = demo_run["notifications"]
    assert (notes["channel"], notes["pending"]) == ("outbox", 0)
    records = [json.loads(line) for line in Path(notes["outbox_file"]).read_text().splitlines()]
    digests = {r["owner"]: r for r in records if r.get("kind") == "message" and r["purpose"] == "digest"}
    notified = {
        (i["control_id"], i["resource_name"]) for r in digests.values() for i in r["items"] if i["change"] == "new"
    }
    assert notified == EXPECTED_FAILURES
    assert set(digests) == {"data-eng", "ml-research", "platform-team"} | DEMO_VENDOR_OWNERS
    assert notes["digests"] == len(digests)
    fails = [f for f in _findings(demo_run) if f["status"] == "FAIL"]
    assert notes["routed"] == len(fails) and "routes" not in notes  # routes travel on the findings
    assert all(" -> " in f["notify_route"] for f in fails)


def test_collectors_call_only_actions_the_shipped_read_only_policy_allows(demo_run: dict) -> None:
    patterns = allowed_actions(load_iam_policy())
    assert CALLED_ACTIONS, "the run made no AWS call"
    not_allowed = sorted({a for a in CALLED_ACTIONS if not is_allowed(a, patterns)})
    assert not_allowed == [], f"configs/iam-policy.json does not allow: {not_allowed}"


def test_shipped_policy_is_read_only() -> None:
    read_prefixes = ("Describe", "Get", "List", "GenerateCredentialReport")
    for pattern in allowed_actions(load_iam_policy()):
        service, action = pattern.split(":")
        assert "*" not in action, pattern
        assert action.startswith(read_prefixes), pattern


def test_access_review_lists_every_principal_for_its_owner(demo_run: dict) -> None:
    review = pd.read_csv(Path(demo_run["run_dir"]) / "reports" / "access-review.csv")
    assert set(review["resource_name"]) == {"alice", "bob", "carol", "dave", "erin", "ml-training"}
    dave = review.set_index("resource_name").loc["dave"]
    assert (dave["owner"], bool(dave["is_admin"]), dave["admin_via"]) == ("platform-team", True, "attached policy")
    assert list(review["owner"]) == sorted(review["owner"])
