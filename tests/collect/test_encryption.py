"""Encryption rules (S3, EBS, RDS, DynamoDB, SageMaker, KMS): compliant, violating, not applicable."""

from __future__ import annotations

import contextlib
import json

import boto3
import pytest

from complyflow.demo import _bucket
from tests.support.evaluate import verdicts

pytestmark = pytest.mark.usefixtures("aws")


def test_s3_default_encryption_and_sse_kms() -> None:
    kms_key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    _bucket("enc-kms", "us-east-1", "t", "aws:kms", False, kms_key)
    _bucket("enc-dsse", "us-east-1", "t", "aws:kms:dsse", False, kms_key)
    _bucket("enc-s3", "eu-west-1", "t", "AES256", False)
    _bucket("enc-none", "us-east-1", "t", None, False)
    assert verdicts("s3-bucket-default-encryption") == {
        "enc-kms": "PASS",
        "enc-dsse": "PASS",
        "enc-s3": "PASS",
        "enc-none": "FAIL",
    }
    assert verdicts("s3-bucket-sse-kms") == {
        "enc-kms": "PASS",
        "enc-dsse": "PASS",
        "enc-s3": "FAIL",
        "enc-none": "FAIL",
    }


def test_s3_bucket_region_is_recorded() -> None:
    _bucket("in-eu", "eu-west-1", "t", "AES256", False)
    from tests.support.evaluate import evaluate

    (finding,) = evaluate("s3-bucket-sse-kms")
    assert (finding.region, finding.resource_arn) == ("eu-west-1", "arn:aws:s3:::in-eu")


def _policy(bucket: str, statement: dict) -> None:
    boto3.client("s3").put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )


def test_s3_tls_only_needs_a_deny_on_insecure_transport_for_everyone() -> None:
    _bucket("tls-ok", "us-east-1", "t", "AES256", True)
    _bucket("no-policy", "us-east-1", "t", "AES256", False)
    for name in ("allow-only", "deny-one-principal", "deny-if-exists", "deny-get-only", "deny-objects-only"):
        _bucket(name, "us-east-1", "t", "AES256", False)
    insecure = {"Bool": {"aws:SecureTransport": "false"}}
    _policy(
        "allow-only",
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::allow-only/*"},
    )
    _policy(
        "deny-one-principal",
        {
            "Effect": "Deny",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::deny-one-principal/*",
            "Condition": insecure,
        },
    )
    _policy(
        "deny-if-exists",
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "*",
            "Resource": ["arn:aws:s3:::deny-if-exists", "arn:aws:s3:::deny-if-exists/*"],
            "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}},
        },
    )
    # Objects only: ListBucket, GetBucketPolicy, PutBucketPolicy … still work over plain HTTP.
    _policy(
        "deny-objects-only",
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::deny-objects-only/*",
            "Condition": insecure,
        },
    )
    _policy(
        "deny-get-only",
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::deny-get-only/*",
            "Condition": insecure,
        },
    )
    assert verdicts("s3-bucket-tls-only") == {
        "tls-ok": "PASS",
        "no-policy": "FAIL",
        "allow-only": "FAIL",
        "deny-one-principal": "FAIL",
        "deny-if-exists": "PASS",
        "deny-get-only": "FAIL",
        "deny-objects-only": "FAIL",
    }


def test_ebs_encryption_by_default_per_region() -> None:
    boto3.client("ec2", region_name="eu-west-1").enable_ebs_encryption_by_default()
    assert verdicts("ec2-ebs-default-encryption", regions=("us-east-1", "eu-west-1")) == {
        "test us-east-1": "FAIL",
        "test eu-west-1": "PASS",
    }


def test_rds_storage_encryption() -> None:
    rds = boto3.client("rds")
    for name, encrypted in (("db-encrypted", True), ("db-plain", False)):
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="u",
            MasterUserPassword="password-123",
            AllocatedStorage=20,
            StorageEncrypted=encrypted,
        )
    assert verdicts("rds-storage-encrypted") == {"db-encrypted": "PASS", "db-plain": "FAIL"}


def _table(name: str, sse: dict | None) -> str:
    ddb = boto3.client("dynamodb")
    params = {
        "TableName": name,
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if sse:
        params["SSESpecification"] = sse
    return ddb.create_table(**params)["TableDescription"]["TableName"]


@pytest.mark.parametrize("aliases_refused", [False, True], ids=["key-kind-from-aliases", "describe-key-fallback"])
def test_dynamodb_needs_a_customer_managed_key(aliases_refused: bool) -> None:
    from tests.support.faults import denied

    cmk = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    _table("cmk-table", {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": cmk})
    _table("owned-table", None)
    _table("managed-table", {"Enabled": True, "SSEType": "KMS"})
    # moto creates the aws/dynamodb key as customer-managed; in AWS it is AWS-managed.
    from moto.kms.models import kms_backends

    managed_arn = boto3.client("dynamodb").describe_table(TableName="managed-table")["Table"]["SSEDescription"][
        "KMSMasterKeyArn"
    ]
    kms_backends["123456789012"]["us-east-1"].keys[managed_arn.rsplit("/", 1)[1]].key_manager = "AWS"
    with denied("ListAliases") if aliases_refused else contextlib.nullcontext():
        assert verdicts("dynamodb-cmk-encryption") == {
            "cmk-table": "PASS",
            "owned-table": "FAIL",
            "managed-table": "FAIL",
        }


def test_sagemaker_notebook_needs_a_kms_key() -> None:
    sm = boto3.client("sagemaker")
    key = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    role = "arn:aws:iam::123456789012:role/nb"
    sm.create_notebook_instance(NotebookInstanceName="nb-kms", InstanceType="ml.t3.medium", RoleArn=role, KmsKeyId=key)
    sm.create_notebook_instance(NotebookInstanceName="nb-plain", InstanceType="ml.t3.medium", RoleArn=role)
    assert verdicts("sagemaker-notebook-kms") == {"nb-kms": "PASS", "nb-plain": "FAIL"}


def test_kms_rotation_applies_to_enabled_symmetric_customer_keys_only() -> None:
    kms = boto3.client("kms")

    def key(description: str, **kwargs: object) -> str:
        return kms.create_key(Description=description, **kwargs)["KeyMetadata"]["KeyId"]

    rotated = key("rotated")
    kms.enable_key_rotation(KeyId=rotated)
    key("not-rotated")
    disabled = key("disabled")
    kms.disable_key(KeyId=disabled)
    pending = key("pending-deletion")
    kms.schedule_key_deletion(KeyId=pending, PendingWindowInDays=7)
    key("asymmetric", KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    aws_managed = key("aws-managed")
    from moto.kms.models import kms_backends

    kms_backends["123456789012"]["us-east-1"].keys[aws_managed].key_manager = "AWS"
    assert verdicts("kms-key-rotation") == {"rotated": "PASS", "not-rotated": "FAIL"}


def test_bucket_regions_come_from_listings_not_a_call_per_bucket() -> None:
    from tests.support.api_calls import recorded_actions
    from tests.support.evaluate import collect

    for i in range(3):
        _bucket(f"us-{i}", "us-east-1", "t", "AES256", False)
        _bucket(f"eu-{i}", "eu-west-1", "t", "AES256", False)
    _bucket("far-away", "ap-southeast-2", "t", "AES256", False)
    with recorded_actions() as actions:
        result = collect("s3_buckets", regions=("us-east-1", "eu-west-1"))
    regions = dict(
        zip(result.tables["s3_buckets"]["resource_name"], result.tables["s3_buckets"]["region"], strict=True)
    )
    assert regions == {
        "us-0": "us-east-1",
        "us-1": "us-east-1",
        "us-2": "us-east-1",
        "eu-0": "eu-west-1",
        "eu-1": "eu-west-1",
        "eu-2": "eu-west-1",
        "far-away": "ap-southeast-2",
    }
    assert actions.count("s3:GetBucketLocation") == 1  # only the bucket outside the scope's regions
