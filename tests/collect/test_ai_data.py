"""AI data rules: lifecycle expiration on buckets tagged as AI data, KMS on log groups holding AI logs."""

from __future__ import annotations

import boto3
import pytest

from tasks.collect.base import data_class
from tasks.collect.logs import log_source
from tasks.collect.s3 import expiration
from tests.support.evaluate import collect, evaluate, verdicts
from tests.support.faults import denied

pytestmark = pytest.mark.usefixtures("aws")
LIFECYCLE = "s3-ai-data-lifecycle-expiration"
LOGS_KMS = "logs-ai-log-group-kms"


def _bucket(name: str, data: str | None, rules: list[dict] | None = None, region: str = "us-east-1") -> None:
    s3 = boto3.client("s3", region_name=region)
    extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **extra)
    if data is not None:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "data-class", "Value": data}]})
    if rules:
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})


def _rule(status: str = "Enabled", **expiration: object) -> dict:
    rule: dict = {"ID": "r", "Status": status, "Filter": {"Prefix": ""}}
    if expiration:
        rule["Expiration"] = expiration
    else:
        rule["Transitions"] = [{"Days": 30, "StorageClass": "GLACIER"}]
    return rule


def test_only_buckets_tagged_as_ai_data_are_judged() -> None:
    _bucket("training-expires", "ai-training", [_rule(Days=365)])
    _bucket("operational-kept", "ai-operational")  # NoSuchLifecycleConfiguration: no rule
    _bucket("training-disabled", "AI-Training ", [_rule("Disabled", Days=30)])  # value compared lower-cased, trimmed
    _bucket("training-transitions", "ai-training", [_rule()])  # moves data, deletes nothing
    _bucket("eu-training-by-date", "ai-training", [_rule(Date="2027-01-01T00:00:00Z")], region="eu-west-1")
    _bucket("public-site", "public")
    _bucket("untagged", None)
    assert verdicts(LIFECYCLE) == {
        "training-expires": "PASS",
        "operational-kept": "FAIL",
        "training-disabled": "FAIL",
        "training-transitions": "FAIL",
        "eu-training-by-date": "PASS",
    }


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([], (False, None, False)),
        ([_rule(Days=30), _rule(Days=7)], (True, 7, True)),
        ([_rule("Disabled", Days=1), _rule(Days=90)], (True, 90, True)),
        ([_rule(Date="2027-01-01T00:00:00Z")], (True, None, True)),
        ([_rule(ExpiredObjectDeleteMarker=True)], (False, None, False)),  # removes markers, never current objects
        (
            [{"ID": "nc", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}],
            (False, None, False),
        ),
        ([{"ID": "p", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1}}], (True, 1, False)),
        (
            [
                {
                    "ID": "t",
                    "Status": "Enabled",
                    "Filter": {"Tag": {"Key": "a", "Value": "b"}},
                    "Expiration": {"Days": 3},
                }
            ],
            (True, 3, False),
        ),
        (
            [{"ID": "s", "Status": "Enabled", "Filter": {"ObjectSizeGreaterThan": 1}, "Expiration": {"Days": 3}}],
            (True, 3, False),
        ),
        ([{"ID": "e", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 3}}], (True, 3, True)),
        ([{"ID": "legacy", "Status": "Enabled", "Prefix": "", "Expiration": {"Days": 5}}], (True, 5, True)),
        ([{"ID": "legacy", "Status": "Enabled", "Prefix": "logs/", "Expiration": {"Days": 5}}], (True, 5, False)),
        ([{"ID": "bare", "Status": "Enabled", "Expiration": {"Days": 5}}], (True, 5, True)),
    ],
)
def test_expiration_rule_forms(rules: list[dict], expected: tuple) -> None:
    found = expiration(rules)
    assert (
        found["lifecycle_expiration"],
        found["lifecycle_expiration_days"],
        found["lifecycle_expiration_whole_bucket"],
    ) == expected


def test_denied_lifecycle_read_is_an_error_only_where_the_rule_applies() -> None:
    _bucket("training", "ai-training", [_rule(Days=30)])
    _bucket("untagged", None)
    with denied("GetBucketLifecycleConfiguration"):
        result = collect("s3_buckets")
    assert verdicts(LIFECYCLE, result=result) == {"training": "ERROR"}
    assert verdicts("s3-bucket-default-encryption", result=result) == {"training": "FAIL", "untagged": "FAIL"}


def test_unknown_tags_leave_applicability_unknown() -> None:
    _bucket("maybe-training", "ai-training", [_rule(Days=30)])
    with denied("GetResources"), denied("GetBucketTagging"):
        result = collect("s3_buckets")
    assert verdicts(LIFECYCLE, result=result) == {"maybe-training": "ERROR"}


@pytest.mark.parametrize(
    ("tags", "expected"),
    [(None, None), ({}, ""), ({"Data-Class": " AI-Operational"}, "ai-operational"), ({"data_class": "x"}, "")],
)
def test_data_class_tag(tags: dict | None, expected: str | None) -> None:
    assert data_class(tags) == expected


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("/aws/sagemaker/Endpoints/churn", "sagemaker"),
        ("/aws/sagemaker/TrainingJobs", "sagemaker"),
        ("/AWS/Bedrock/modelinvocations", "bedrock"),
        ("/aws/bedrockish/x", ""),
        ("/aws/lambda/sagemaker-hook", ""),
        ("bedrock-invocations", ""),
    ],
)
def test_log_source_by_aws_names(name: str, source: str) -> None:
    assert log_source(name) == source


def test_ai_log_groups_need_kms_and_others_are_not_judged() -> None:
    kms = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/aws/sagemaker/Endpoints/churn", kmsKeyId=kms)
    logs.create_log_group(logGroupName="/aws/bedrock/modelinvocations")
    logs.create_log_group(logGroupName="/team/prompts", tags={"data-class": "ai-operational"})
    logs.create_log_group(logGroupName="/team/features", tags={"data-class": "ai-training"}, kmsKeyId=kms)
    logs.create_log_group(logGroupName="/app/web")
    found = {f.resource_name: f for f in evaluate(LOGS_KMS)}
    assert {name: str(f.status) for name, f in found.items()} == {
        "/aws/sagemaker/Endpoints/churn": "PASS",
        "/aws/bedrock/modelinvocations": "FAIL",
        "/team/prompts": "FAIL",
        "/team/features": "PASS",
    }
    assert f"kms_key_id = {kms}" in found["/team/features"].observed


def test_ai_log_groups_in_every_region_and_denied_tags_are_an_error() -> None:
    boto3.client("logs", region_name="eu-west-1").create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    boto3.client("logs").create_log_group(logGroupName="/team/prompts", tags={"data-class": "ai-operational"})
    regions = ("us-east-1", "eu-west-1", "ap-south-1")
    assert {(f.region, str(f.status)) for f in evaluate(LOGS_KMS, regions=regions)} == {
        ("eu-west-1", "FAIL"),
        ("us-east-1", "FAIL"),
    }
    with denied("GetResources"), denied("ListTagsForResource"):
        result = collect("log_groups", regions=regions)
    assert {(f.resource_name, str(f.status)) for f in evaluate(LOGS_KMS, result=result)} == {
        # a gap on a column the control reads (data_class) is ERROR wherever the control may apply (validate.py)
        ("/aws/sagemaker/TrainingJobs", "ERROR"),
        ("/team/prompts", "ERROR"),  # without its tags, whether it holds AI logs is unknown
    }
    frame = result.tables["log_groups"].set_index("resource_name")
    assert frame.loc["/aws/sagemaker/TrainingJobs", "log_source"] == "sagemaker"
    assert frame["data_class"].isna().all()
