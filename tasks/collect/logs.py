"""CloudWatch Logs: retention and KMS encryption per log group, and whether the group holds AI logs.

A group that never expires has no retention_days and never_expires. AI logs are marked two ways, both
recorded as facts for the controls' `applies_when`: AWS's own log-group names for its AI services
(`log_source`: `/aws/sagemaker/…` for training, endpoints, processing and notebooks; `/aws/bedrock/…`,
the conventional home of Bedrock model invocation logs and agents), and the `data-class` tag that also
marks AI data buckets (`ai-training`, `ai-operational`), for groups named by their owners.
"""

from __future__ import annotations

from typing import Any

from complyflow.core.tables import TAG_COLUMNS, Column, TableSpec, call
from tasks.aws import AWS_ERRORS, paginate
from tasks.collect.base import DATA_CLASS_TAG, CollectContext, Collector, data_class
from tasks.collect.tags import tags_by_arn

TABLE = "log_groups"
#: Log-group name prefix -> the AI service that writes there (AWS's fixed names; compared case-insensitively).
AI_PREFIXES = {"/aws/sagemaker/": "sagemaker", "/aws/bedrock/": "bedrock"}


def log_group_arn(group: dict[str, str]) -> str:
    """The log group's ARN without the trailing `:*` that `arn` carries."""
    arn = group.get("logGroupArn") or group["arn"]
    return arn[:-2] if arn.endswith(":*") else arn


def log_source(name: str) -> str:
    """The AI service whose log-group name this is; empty for any other group."""
    lowered = name.lower()
    return next((service for prefix, service in AI_PREFIXES.items() if lowered.startswith(prefix)), "")


def _tags(ctx: CollectContext, logs: Any, index: dict | None, arn: str) -> dict[str, str] | None:
    """The group's tags from the index, else its own call; None (and a gap) when neither could say."""
    if index is not None:
        return dict(index.get(arn, {}))
    try:
        return dict(logs.list_tags_for_resource(resourceArn=arn).get("tags", {}))
    except AWS_ERRORS as exc:
        ctx.gap("ListTagsForResource", exc, resource_id=arn)
        return None


def collect_logs(ctx: CollectContext) -> None:
    logs = ctx.client()
    tagged = tags_by_arn(ctx, "logs")
    for group in paginate(logs, "describe_log_groups", "logGroups"):
        arn = log_group_arn(group)
        tags = _tags(ctx, logs, tagged, arn)
        ctx.add(
            TABLE,
            resource_arn=arn,
            resource_type="AwsLogsLogGroup",
            resource_name=group["logGroupName"],
            tags=tags or {},
            # No retentionInDays: the console's "Never expire". Null plus a flag, never a misleading 0.
            retention_days=int(group["retentionInDays"]) if group.get("retentionInDays") else None,
            never_expires=not group.get("retentionInDays"),
            kms_key_id=str(group.get("kmsKeyId") or ""),
            kms_encrypted=bool(group.get("kmsKeyId")),
            log_source=log_source(group["logGroupName"]),
            data_class=data_class(tags),
        )


COLLECTOR = Collector(
    name="log-groups",
    service="logs",
    scope="regional",
    declares=(
        TableSpec(
            TABLE,
            "One row per CloudWatch Logs log group in the region.",
            (
                Column("retention_days", "integer", "retention in days; null when the group never expires"),
                Column("never_expires", "boolean", "no retention policy: logs are kept forever"),
                Column("kms_key_id", "string", "the KMS key ARN the group is encrypted with; empty: service-owned key"),
                Column("kms_encrypted", "boolean", "the group is encrypted with a KMS key (kmsKeyId set)"),
                Column("log_source", "string", "sagemaker or bedrock when the name is that service's; else empty"),
                Column("data_class", "string", f"the `{DATA_CLASS_TAG}` tag, lower-cased (e.g. ai-operational)"),
            ),
        ),
    ),
    calls=(
        call("logs", "DescribeLogGroups"),
        call("resourcegroupstaggingapi", "GetResources", *TAG_COLUMNS, "data_class"),
        call("logs", "ListTagsForResource", *TAG_COLUMNS, "data_class", when="tag:GetResources is refused"),
    ),
    collect=collect_logs,
    description="CloudWatch Logs retention, KMS encryption and AI log marking",
)
