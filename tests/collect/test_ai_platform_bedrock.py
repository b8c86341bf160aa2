"""Bedrock: invocation logging per region and its encrypted destinations, custom models on a customer-managed key.

moto gives every custom model a made-up `modelKmsKeyArn` and no `modelStatus`; `_custom_model` sets what
AWS reports (the job's key, or none). The collector's calls are the real ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import EndpointConnectionError

from tests.support.api_calls import recorded_calls
from tests.support.evaluate import collect, evaluate
from tests.support.faults import denied

pytestmark = pytest.mark.usefixtures("aws")
ACCOUNT = "123456789012"
LOGGING = "bedrock-invocation-logging-enabled"
ENCRYPTED = "bedrock-invocation-logging-encrypted"
CMK = "bedrock-custom-model-cmk"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/bedrock-logging"


@contextmanager
def no_endpoint(service: str, region: str) -> Iterator[None]:
    """Answer every `service` call in `region` as botocore does where the service has no endpoint."""
    original = BaseClient._make_api_call

    def unreachable(self: BaseClient, name: str, params: dict) -> Any:
        if self.meta.service_model.service_name == service and self.meta.region_name == region:
            raise EndpointConnectionError(endpoint_url=f"https://{service}.{region}.amazonaws.com/")
        return original(self, name, params)

    BaseClient._make_api_call = unreachable  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def _by_region(control: str, regions: tuple[str, ...] = ("us-east-1",), result: Any = None) -> dict[str, str]:
    return {f.region: str(f.status) for f in evaluate(control, regions=regions, result=result)}


def _bucket(name: str, algorithm: str | None, region: str = "us-east-1") -> None:
    s3 = boto3.client("s3", region_name=region)
    params: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**params)
    if algorithm:
        default = {"SSEAlgorithm": algorithm, **({"KMSMasterKeyID": KEY} if "kms" in algorithm else {})}
        s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]}
        )


def _log_group(name: str, kms: bool) -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    logs.create_log_group(logGroupName=name, **({"kmsKeyId": KEY} if kms else {}))


def _logging(config: dict[str, Any], region: str = "us-east-1") -> None:
    boto3.client("bedrock", region_name=region).put_model_invocation_logging_configuration(loggingConfig=config)


def _row(region: str = "us-east-1") -> dict[str, Any]:
    frame = collect("bedrock_invocation_logging", regions=(region,)).tables["bedrock_invocation_logging"]
    return frame.set_index("region").loc[region].to_dict()


# --- invocation logging ------------------------------------------------------------------------


def test_a_region_without_configuration_is_a_failing_row() -> None:
    _bucket("logs-kms", "aws:kms")
    _logging({"s3Config": {"bucketName": "logs-kms"}, "textDataDeliveryEnabled": True})
    regions = ("us-east-1", "eu-west-1")
    assert _by_region(LOGGING, regions) == {"us-east-1": "PASS", "eu-west-1": "FAIL"}
    assert _by_region(ENCRYPTED, regions) == {"us-east-1": "PASS"}  # nothing logged in eu-west-1: not applicable
    assert json.loads(_row()["data_types"]) == ["text"]


def test_a_configuration_without_any_destination_logs_nothing() -> None:
    _logging({"textDataDeliveryEnabled": True})
    assert _by_region(LOGGING) == {"us-east-1": "FAIL"}
    assert _by_region(ENCRYPTED) == {}


@pytest.mark.parametrize(
    ("algorithm", "expected", "detail"),
    [
        ("aws:kms", "PASS", "aws:kms"),
        ("aws:kms:dsse", "PASS", "aws:kms:dsse"),
        ("AES256", "FAIL", "AES256"),
        (None, "FAIL", "no default encryption"),
    ],
)
def test_s3_destination_needs_default_sse_kms(algorithm: str | None, expected: str, detail: str) -> None:
    _bucket("invocation-logs", algorithm)
    _logging({"s3Config": {"bucketName": "invocation-logs", "keyPrefix": "bedrock/"}})
    assert _by_region(ENCRYPTED) == {"us-east-1": expected}
    (destination,) = json.loads(_row()["destinations"])
    assert (destination["kind"], destination["name"], destination["detail"]) == ("s3", "invocation-logs", detail)


def test_a_missing_bucket_or_log_group_is_not_an_encrypted_destination() -> None:
    _logging(
        {"s3Config": {"bucketName": "gone-bucket"}, "cloudWatchConfig": {"logGroupName": "/gone", "roleArn": ROLE}}
    )
    assert _by_region(LOGGING) == {"us-east-1": "PASS"}
    assert _by_region(ENCRYPTED) == {"us-east-1": "FAIL"}
    details = {d["kind"]: d["detail"] for d in json.loads(_row()["destinations"])}
    assert details == {"s3": "bucket does not exist", "cloudwatch": "log group does not exist"}


@pytest.mark.parametrize(("kms", "expected"), [(True, "PASS"), (False, "FAIL")])
def test_cloudwatch_destination_needs_a_kms_key(kms: bool, expected: str) -> None:
    _log_group("/bedrock/invocations", kms)
    _log_group("/bedrock/invocations-old", not kms)  # same prefix: only the exact name counts
    _logging({"cloudWatchConfig": {"logGroupName": "/bedrock/invocations", "roleArn": ROLE}})
    assert _by_region(ENCRYPTED) == {"us-east-1": expected}


def test_every_destination_must_be_encrypted_including_large_payloads() -> None:
    _log_group("/bedrock/invocations", kms=True)
    _bucket("large-payloads", "AES256")
    _logging(
        {
            "cloudWatchConfig": {
                "logGroupName": "/bedrock/invocations",
                "roleArn": ROLE,
                "largeDataDeliveryS3Config": {"bucketName": "large-payloads"},
            }
        }
    )
    assert _by_region(ENCRYPTED) == {"us-east-1": "FAIL"}
    assert {d["kind"]: d["encrypted"] for d in json.loads(_row()["destinations"])} == {
        "cloudwatch": True,
        "s3-large-data": False,
    }


def test_denied_bucket_read_is_an_error_for_encryption_only() -> None:
    _bucket("logs-kms", "aws:kms")
    _logging({"s3Config": {"bucketName": "logs-kms"}})
    with denied("GetBucketEncryption"):
        result = collect("bedrock_invocation_logging")
    (gap,) = result.gaps
    assert set(gap.columns) == {"destination_encrypted", "destinations"}
    assert _by_region(LOGGING, result=result) == {"us-east-1": "PASS"}
    assert _by_region(ENCRYPTED, result=result) == {"us-east-1": "ERROR"}


def test_an_unknown_destination_beside_an_unencrypted_one_is_still_a_fail() -> None:
    _bucket("logs-kms", "aws:kms")
    _log_group("/plain", kms=False)
    _logging({"s3Config": {"bucketName": "logs-kms"}, "cloudWatchConfig": {"logGroupName": "/plain", "roleArn": ROLE}})
    with denied("GetBucketEncryption"):
        result = collect("bedrock_invocation_logging")
    assert _by_region(ENCRYPTED, result=result) == {"us-east-1": "FAIL"}


def test_denied_configuration_read_is_an_error_for_that_region_only() -> None:
    _bucket("logs-kms", "aws:kms")
    _logging({"s3Config": {"bucketName": "logs-kms"}})
    regions = ("us-east-1", "eu-west-1")
    with denied("GetModelInvocationLoggingConfiguration", "eu-west-1"):
        result = collect("bedrock_invocation_logging", regions=regions)
    assert _by_region(LOGGING, regions, result) == {"us-east-1": "PASS", "eu-west-1": "ERROR"}


def test_a_region_without_bedrock_is_not_applicable() -> None:
    # ap-east-1 has no Bedrock endpoint in botocore's data: the row says so and no control applies.
    with no_endpoint("bedrock", "ap-east-1"):
        result = collect("bedrock_invocation_logging", regions=("ap-east-1",))
    assert result.gaps == []
    frame = result.tables["bedrock_invocation_logging"]
    assert "destination_encrypted" in frame.columns  # every declared column, even when no row has a value
    row = frame.iloc[0]
    assert (row["region"], bool(row["bedrock_available"])) == ("ap-east-1", False)
    assert _by_region(LOGGING, ("ap-east-1",), result) == {}


def test_no_endpoint_where_bedrock_is_offered_is_an_error() -> None:
    with no_endpoint("bedrock", "us-east-1"):
        result = collect("bedrock_invocation_logging")
    assert [g.error_code for g in result.gaps] == ["EndpointConnectionError"]
    assert _by_region(LOGGING, result=result) == {"us-east-1": "ERROR"}


# --- custom models -----------------------------------------------------------------------------


def _custom_model(name: str, key: str | None, status: str | None = None, region: str = "us-east-1") -> None:
    boto3.client("bedrock", region_name=region).create_model_customization_job(
        jobName=f"{name}-job",
        customModelName=name,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/bedrock",
        baseModelIdentifier="amazon.titan-text-express-v1",
        trainingDataConfig={"s3Uri": "s3://train/data.jsonl"},
        outputDataConfig={"s3Uri": "s3://train/out/"},
        hyperParameters={},
        customModelTags=[{"key": "owner", "value": "ml-research"}],
        **({"customModelKmsKeyId": key} if key else {}),
    )
    from moto.bedrock.models import bedrock_backends

    model = bedrock_backends[ACCOUNT][region].custom_models[name]
    model.model_kms_key_arn = key  # what AWS reports; moto invents a key for every model
    if status:
        original = model.to_dict
        model.to_dict = lambda: {**original(), "modelStatus": status}  # moto omits modelStatus


def _models(result: Any = None) -> dict[str, str]:
    return {f.resource_name: str(f.status) for f in evaluate(CMK, result=result)}


def test_custom_models_need_a_customer_managed_key() -> None:
    _custom_model("assistant", KEY)
    _custom_model("summariser", None)
    assert _models() == {"assistant": "PASS", "summariser": "FAIL"}
    frame = collect("bedrock_custom_models").tables["bedrock_custom_models"].set_index("resource_name")
    assert frame.loc["assistant", "kms_key_arn"] == KEY
    assert json.loads(frame.loc["summariser", "tags"]) == {"owner": "ml-research"}


def test_a_failed_customization_is_not_applicable_but_creating_is() -> None:
    _custom_model("broken", None, status="Failed")
    _custom_model("pending", None, status="Creating")
    assert _models() == {"pending": "FAIL"}


def test_custom_models_are_listed_across_pages() -> None:
    for i in range(101):  # one page holds 100
        _custom_model(f"m{i:03d}", KEY)
    with recorded_calls() as calls:
        verdicts = _models()
    assert len(verdicts) == 101 and set(verdicts.values()) == {"PASS"}
    assert sum(1 for _, op, _ in calls if op == "ListCustomModels") == 2


def test_denied_model_read_is_an_error_for_that_model_and_tags_stay_separate() -> None:
    _custom_model("assistant", KEY)
    _custom_model("summariser", None)
    arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/assistant"
    with denied("GetCustomModel", when=lambda p: p["modelIdentifier"] == arn), denied("ListTagsForResource"):
        result = collect("bedrock_custom_models")
    assert _models(result) == {"assistant": "ERROR", "summariser": "FAIL"}
    assert {g.operation for g in result.gaps} == {"GetCustomModel", "ListTagsForResource"}


def test_a_region_without_bedrock_has_no_custom_models_and_no_gap() -> None:
    with no_endpoint("bedrock", "ap-east-1"):
        result = collect("bedrock_custom_models", regions=("ap-east-1",))
    assert result.gaps == [] and result.tables["bedrock_custom_models"].empty
