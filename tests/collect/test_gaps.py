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
    findings = evaluate("logs-retention-policy-set", result=result)  # the groups never expire
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


def test_a_table_that_cannot_be_described_is_an_error_not_absent() -> None:
    ddb = boto3.client("dynamodb")
    for name in ("readable", "hidden"):
        ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        )
    with denied("DescribeTable", when=lambda p: p.get("TableName") == "hidden"):
        result = collect("dynamodb_tables")
    verdict = {
        f.resource_name: (str(f.status), f.resource_type) for f in evaluate("dynamodb-cmk-encryption", result=result)
    }
    assert verdict == {"readable": ("FAIL", "AwsDynamoDbTable"), "hidden": ("ERROR", "UnreadResource")}
    (gap,) = result.gaps
    assert gap.resource_id == "arn:aws:dynamodb:us-east-1:123456789012:table/hidden"


def test_a_network_failure_on_one_bucket_keeps_the_other_buckets_rows() -> None:
    from botocore.exceptions import ReadTimeoutError

    from tests.support import faults

    for name in ("bkt-a", "bkt-b", "bkt-c"):
        _bucket(name, "us-east-1", "t", "AES256", False)
    original = faults.BaseClient._make_api_call

    def flaky(self, operation, params):  # type: ignore[no-untyped-def]
        if operation == "GetBucketPolicy" and params.get("Bucket") == "bkt-b":
            raise ReadTimeoutError(endpoint_url="https://s3.amazonaws.com")
        return original(self, operation, params)

    faults.BaseClient._make_api_call = flaky  # type: ignore[method-assign]
    try:
        result = collect("s3_buckets")
    finally:
        faults.BaseClient._make_api_call = original  # type: ignore[method-assign]
    assert sorted(result.tables["s3_buckets"]["resource_name"]) == ["bkt-a", "bkt-b", "bkt-c"]
    ((operation, code, resource),) = {(g.operation, g.error_code, g.resource_id) for g in result.gaps}
    assert (operation, code, resource) == ("GetBucketPolicy", "ReadTimeoutError", "arn:aws:s3:::bkt-b")
    tls = {f.resource_name: str(f.status) for f in evaluate("s3-bucket-tls-only", result=result)}
    assert tls == {"bkt-a": "FAIL", "bkt-b": "ERROR", "bkt-c": "FAIL"}


def test_a_bug_in_a_collector_fails_loudly_instead_of_reading_as_access_denied() -> None:
    """A KeyError in our code is not evidence of anything: it must not become a gap (ERROR) in the findings."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from complyflow.core.config import AccountScope
    from tasks.aws import open_account
    from tasks.collect import run_collector
    from tasks.collect.ec2 import COLLECTOR

    def buggy(ctx: object) -> None:
        raise KeyError("EbsEncryptionByDefualt")

    account = open_account(AccountScope(name="demo"), "us-east-1")
    with pytest.raises(KeyError, match="EbsEncryptionByDefualt"):
        run_collector(replace(COLLECTOR, collect=buggy), account, "us-east-1", datetime.now(UTC))


def test_a_gap_names_the_columns_its_call_feeds() -> None:
    """The declaration says what a failed call leaves unknown: rotation status, not the whole key."""
    kms = boto3.client("kms")
    kms.create_key(Description="rotated")
    with denied("GetKeyRotationStatus"):
        result = collect("kms_keys")
    (gap,) = result.gaps
    assert gap.columns == ("rotation_enabled",)


def test_a_tag_gap_leaves_controls_that_do_not_read_tags_decided() -> None:
    """cloudtrail:ListTags refused: the trails' tags are unknown, their settings are not."""
    boto3.client("s3").create_bucket(Bucket="trail-logs")
    boto3.client("cloudtrail").create_trail(Name="trail-all", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    with denied("ListTags"):
        result = collect("cloudtrail_trails")
    (gap,) = result.gaps
    assert gap.resource_id is None and set(gap.columns) == {"tags", "owner", "owner_source"}
    statuses = {str(f.status) for f in evaluate("cloudtrail-multi-region", result=result)}
    assert statuses == {"PASS"}
