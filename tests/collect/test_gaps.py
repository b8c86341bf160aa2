"""A denied or failing API call is an evidence gap: ERROR for the affected scope, never PASS."""

from __future__ import annotations

import boto3
import pytest

from complyflow.demo import _bucket
from tests.support.evaluate import collect, evaluate
from tests.support.faults import denied

pytestmark = pytest.mark.usefixtures("aws")


def test_denied_listing_in_one_region_is_an_error_for_that_scope_only() -> None:
    for region in ("us-east-1", "eu-west-1"):
        boto3.client("logs", region_name=region).create_log_group(logGroupName=f"/g/{region}")
    with denied("DescribeLogGroups", "eu-west-1"):
        result = collect("log_groups", regions=("us-east-1", "eu-west-1"))
    (gap,) = result.gaps
    assert (gap.region, gap.service, gap.error_code, gap.resource_id) == ("eu-west-1", "logs", "AccessDenied", None)
    findings = evaluate("logs-retention-365", result=result)
    by_status = {(f.region, str(f.status)) for f in findings}
    assert by_status == {("us-east-1", "FAIL"), ("eu-west-1", "ERROR")}
    error = next(f for f in findings if f.status == "ERROR")
    assert "AccessDenied" in error.message
    assert error.resource_type == "EvidenceScope"


def test_denied_call_for_one_bucket_is_an_error_for_that_bucket_and_its_controls_only() -> None:
    _bucket("readable", "us-east-1", "t", "aws:kms", True)
    _bucket("secret", "us-east-1", "t", "aws:kms", True)
    with denied("GetBucketEncryption", when=lambda p: p.get("Bucket") == "secret"):
        result = collect("s3_buckets")
    for control in ("s3-bucket-default-encryption", "s3-bucket-sse-kms"):
        verdict = {f.resource_name: str(f.status) for f in evaluate(control, result=result)}
        assert verdict == {"readable": "PASS", "secret": "ERROR"}
    tls = {f.resource_name: str(f.status) for f in evaluate("s3-bucket-tls-only", result=result)}
    assert tls == {"readable": "PASS", "secret": "PASS"}


def test_denied_rotation_status_is_an_error_not_a_pass() -> None:
    kms = boto3.client("kms")
    key = kms.create_key(Description="rotated")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key)
    with denied("GetKeyRotationStatus"):
        result = collect("kms_keys")
    (finding,) = evaluate("kms-key-rotation", result=result)
    assert finding.status == "ERROR"
    assert "GetKeyRotationStatus" in finding.message


def test_denied_credential_report_makes_every_iam_user_control_an_error() -> None:
    boto3.client("iam").create_user(UserName="someone")
    with denied("GenerateCredentialReport"):
        result = collect("iam_users")
    for control in ("iam-user-console-mfa", "iam-password-unused"):
        statuses = {str(f.status) for f in evaluate(control, result=result)}
        assert statuses == {"ERROR"}, control
