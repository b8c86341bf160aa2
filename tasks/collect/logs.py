"""CloudWatch Logs retention per log group; a group that never expires has no retention_days and never_expires."""

from __future__ import annotations

from complyflow.core.tables import TAGGING, Column, TableSpec, call, tag_fallback
from tasks.aws import paginate
from tasks.collect.base import CollectContext, Collector
from tasks.collect.tags import resource_tags, tags_by_arn

TABLE = "log_groups"


def log_group_arn(group: dict[str, str]) -> str:
    """The log group's ARN without the trailing `:*` that `arn` carries."""
    arn = group.get("logGroupArn") or group["arn"]
    return arn[:-2] if arn.endswith(":*") else arn


def collect_logs(ctx: CollectContext) -> None:
    logs = ctx.client()
    tagged = tags_by_arn(ctx, "logs")
    for group in paginate(logs, "describe_log_groups", "logGroups"):
        arn = log_group_arn(group)
        tags = resource_tags(
            ctx,
            tagged,
            arn,
            "ListTagsForResource",
            lambda arn=arn: logs.list_tags_for_resource(resourceArn=arn).get("tags", {}),
        )
        ctx.add(
            TABLE,
            resource_arn=arn,
            resource_type="AwsLogsLogGroup",
            resource_name=group["logGroupName"],
            tags=tags,
            # No retentionInDays: the console's "Never expire". Null plus a flag, never a misleading 0.
            retention_days=int(group["retentionInDays"]) if group.get("retentionInDays") else None,
            never_expires=not group.get("retentionInDays"),
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
            ),
        ),
    ),
    calls=(
        call("logs", "DescribeLogGroups"),
        TAGGING,
        tag_fallback("logs", "ListTagsForResource"),
    ),
    collect=collect_logs,
    description="CloudWatch Logs retention",
)
