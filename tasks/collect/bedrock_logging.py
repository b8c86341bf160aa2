"""Bedrock model invocation logging per region, and whether its destinations are encrypted with KMS.

Invocation logging is a per-region setting of the account (GetModelInvocationLoggingConfiguration):
inference requests made in a region are logged only if that region has a configuration. So there is one
row per (account, region) in scope, and a region without a configuration is a row with
`logging_enabled = false`, never a missing row. A region where Bedrock is not offered is a row with
`bedrock_available = false` (nothing can be invoked there, so nothing needs logging).

Logs go to S3 (`s3Config`), to CloudWatch Logs (`cloudWatchConfig`, with large payloads sent to the S3
bucket of `largeDataDeliveryS3Config`), or both. Each destination is read: a bucket counts as encrypted
when its default encryption is SSE-KMS (aws:kms or aws:kms:dsse), a log group when it has a KMS key.
A destination that does not exist cannot receive logs and counts as not encrypted; one that cannot be
read is an evidence gap on the encryption columns only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from complyflow.core.tables import Column, TableSpec, call
from tasks.aws import AWS_ERRORS, error_code, paginate
from tasks.collect.availability import region_lacks_service
from tasks.collect.base import CollectContext, Collector

TABLE = "bedrock_invocation_logging"
ENCRYPTION = ("destination_encrypted", "destinations")
#: loggingConfig flags naming the data types a log record carries besides its metadata.
DATA_TYPES = {
    "textDataDeliveryEnabled": "text",
    "imageDataDeliveryEnabled": "image",
    "embeddingDataDeliveryEnabled": "embedding",
    "videoDataDeliveryEnabled": "video",
    "audioDataDeliveryEnabled": "audio",
}
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
#: S3 answers for a bucket without default encryption (older buckets, emulators) or a bucket that is gone.
_NO_BUCKET_ENCRYPTION = "ServerSideEncryptionConfigurationNotFoundError"
_NO_BUCKET = "NoSuchBucket"
_ABSENT = {_NO_BUCKET_ENCRYPTION: "no default encryption", _NO_BUCKET: "bucket does not exist"}


@dataclass(frozen=True, slots=True)
class Destination:
    """One place invocation logs are delivered to, as read back from S3 or CloudWatch Logs."""

    kind: Literal["s3", "cloudwatch", "s3-large-data"]
    name: str
    encrypted: bool | None  # None: could not be read (a gap)
    kms_key: str = ""
    detail: str = ""


def _bucket(ctx: CollectContext, kind: Literal["s3", "s3-large-data"], name: str) -> Destination:
    s3 = ctx.client("s3")
    try:
        rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"].get("Rules", [])
    except AWS_ERRORS as exc:
        code = error_code(exc)
        if code in (_NO_BUCKET_ENCRYPTION, _NO_BUCKET):
            return Destination(kind, name, False, detail=_ABSENT[code])
        ctx.gap("GetBucketEncryption", exc, resource_id=_arn(ctx))
        return Destination(kind, name, None, detail=f"unreadable: {code}")
    defaults = [rule.get("ApplyServerSideEncryptionByDefault") or {} for rule in rules]
    algorithm = next((d["SSEAlgorithm"] for d in defaults if d.get("SSEAlgorithm")), "")
    kms_key = next((d["KMSMasterKeyID"] for d in defaults if d.get("KMSMasterKeyID")), "")
    if algorithm in KMS_ALGORITHMS:
        return Destination(kind, name, True, kms_key=kms_key or "aws/s3", detail=algorithm)
    return Destination(kind, name, False, detail=algorithm or "no default encryption")


def _log_group(ctx: CollectContext, name: str) -> Destination:
    logs = ctx.client("logs")
    try:
        groups = paginate(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=name)
    except AWS_ERRORS as exc:
        ctx.gap("DescribeLogGroups", exc, resource_id=_arn(ctx))
        return Destination("cloudwatch", name, None, detail=f"unreadable: {error_code(exc)}")
    group = next((g for g in groups if g.get("logGroupName") == name), None)
    if group is None:
        return Destination("cloudwatch", name, False, detail="log group does not exist")
    kms_key = group.get("kmsKeyId") or ""
    return Destination("cloudwatch", name, bool(kms_key), kms_key=kms_key, detail="" if kms_key else "no KMS key")


def destinations(ctx: CollectContext, config: dict[str, Any]) -> list[Destination]:
    """Every destination the configuration names, each read back (its failures are gaps in `ctx`)."""
    found: list[Destination] = []
    if (config.get("s3Config") or {}).get("bucketName"):
        found.append(_bucket(ctx, "s3", config["s3Config"]["bucketName"]))
    cloudwatch = config.get("cloudWatchConfig") or {}
    if cloudwatch.get("logGroupName"):
        found.append(_log_group(ctx, cloudwatch["logGroupName"]))
    large = cloudwatch.get("largeDataDeliveryS3Config") or {}
    if large.get("bucketName"):
        found.append(_bucket(ctx, "s3-large-data", large["bucketName"]))
    return found


def _arn(ctx: CollectContext) -> str:
    """A stable id for the region's logging setting (it has no ARN of its own)."""
    return f"arn:{ctx.partition}:bedrock:{ctx.region}:{ctx.account_id}:model-invocation-logging"


def _encrypted(found: list[Destination]) -> bool | None:
    """All destinations encrypted; None when logging goes nowhere or a destination could not be read."""
    if not found:
        return None
    if any(d.encrypted is False for d in found):
        return False
    return None if any(d.encrypted is None for d in found) else True


def collect_bedrock_logging(ctx: CollectContext) -> None:
    row = {"resource_arn": _arn(ctx), "resource_type": "AwsBedrockModelInvocationLogging"}
    row["resource_name"] = f"{ctx.account.name} {ctx.region} Bedrock invocation logging"
    try:
        response = ctx.client().get_model_invocation_logging_configuration()
    except AWS_ERRORS as exc:
        if not region_lacks_service(ctx, "bedrock", exc):
            raise
        absent = {"logging_enabled": False, "data_types": "[]", "destinations": "[]", "destination_encrypted": None}
        ctx.add(TABLE, **row, bedrock_available=False, **absent)
        return
    config = response.get("loggingConfig") or {}
    found = destinations(ctx, config)
    ctx.add(
        TABLE,
        **row,
        bedrock_available=True,
        logging_enabled=bool(found),
        data_types=json.dumps([label for flag, label in DATA_TYPES.items() if config.get(flag)]),
        destinations=json.dumps([asdict(d) for d in found]),
        destination_encrypted=_encrypted(found),
    )


COLLECTOR = Collector(
    name="bedrock-invocation-logging",
    service="bedrock",
    scope="regional",
    declares=(
        TableSpec(
            TABLE,
            "One row per (account, region): the region's Bedrock model invocation logging and its destinations.",
            (
                Column("bedrock_available", "boolean", "Bedrock is offered in the region (false: no endpoint there)"),
                Column("logging_enabled", "boolean", "a logging configuration with an S3 or CloudWatch destination"),
                Column("data_types", "json", "JSON list of data types logged with the metadata (text, image, …)"),
                Column("destinations", "json", "JSON list of {kind, name, encrypted, kms_key, detail}"),
                Column("destination_encrypted", "boolean", "every destination is KMS-encrypted; null: no destination"),
            ),
        ),
    ),
    calls=(
        call("bedrock", "GetModelInvocationLoggingConfiguration"),
        call(
            "s3",
            "GetBucketEncryption",
            *ENCRYPTION,
            when="logs go to S3 (or large payloads from CloudWatch)",
            action="s3:GetEncryptionConfiguration",
        ),
        call("logs", "DescribeLogGroups", *ENCRYPTION, when="logs go to CloudWatch Logs"),
    ),
    collect=collect_bedrock_logging,
    description="Bedrock model invocation logging per region and its destinations' KMS encryption",
)
