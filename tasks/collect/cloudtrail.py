"""CloudTrail trails and whether each region in scope is covered by a logging trail.

DescribeTrails with shadow trails lists, in one call, the trails homed here and the multi-region
trails that also cover this region; GetTrailStatus (no batch form) tells whether each is logging.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from complyflow.core.tables import TAG_COLUMNS, Column, TableSpec, call
from tasks.collect.base import CollectContext, Collector, tag_dict

TRAILS = "cloudtrail_trails"
REGIONS = "cloudtrail_regions"


def _tags(ct: Any, arns: list[str]) -> dict[str, dict[str, str]]:
    tags: dict[str, dict[str, str]] = {}
    for start in range(0, len(arns), 20):  # ListTags takes at most 20 trails
        for page in ct.get_paginator("list_tags").paginate(ResourceIdList=arns[start : start + 20]):
            for item in page.get("ResourceTagList", []):
                tags[item["ResourceId"]] = tag_dict(item.get("TagsList"))
    return tags


def collect_cloudtrail(ctx: CollectContext) -> None:
    ct = ctx.client()
    trails = ct.describe_trails(includeShadowTrails=True)["trailList"]
    home = [t for t in trails if t.get("HomeRegion") == ctx.region]
    try:
        tags = _tags(ct, [t["TrailARN"] for t in home])
    except ClientError as exc:
        ctx.gap("ListTags", exc, tables=(TRAILS,))
        tags = {}
    covered: bool | None = False
    for trail in trails:
        arn = trail["TrailARN"]
        try:
            logging = bool(ct.get_trail_status(Name=arn)["IsLogging"])
        except ClientError as exc:
            ctx.gap("GetTrailStatus", exc, resource_id=arn)
            logging = None
        applies_here = trail.get("HomeRegion") == ctx.region or trail.get("IsMultiRegionTrail")
        if applies_here and logging:
            covered = True
        elif applies_here and logging is None and covered is False:
            covered = None  # unknown unless another trail proves coverage
        if trail.get("HomeRegion") == ctx.region:
            ctx.add(
                TRAILS,
                resource_arn=arn,
                resource_type="AwsCloudTrailTrail",
                resource_name=trail["Name"],
                tags=tags.get(arn, {}),
                is_multi_region=bool(trail.get("IsMultiRegionTrail")),
                log_file_validation=bool(trail.get("LogFileValidationEnabled")),
                is_logging=logging,
                s3_bucket=trail.get("S3BucketName", ""),
            )
    ctx.add(
        REGIONS,
        resource_arn=f"arn:aws:cloudtrail:{ctx.region}:{ctx.account_id}:trail",
        resource_type="AwsAccountRegion",
        resource_name=f"{ctx.account.name} {ctx.region}",
        has_logging_trail=covered,
    )


COLLECTOR = Collector(
    name="cloudtrail",
    service="cloudtrail",
    scope="regional",
    declares=(
        TableSpec(
            TRAILS,
            "One row per trail homed in the region.",
            (
                Column("is_multi_region", "boolean", "the trail records every region"),
                Column("log_file_validation", "boolean", "log file integrity validation (digest files) on"),
                Column("is_logging", "boolean", "the trail is recording now"),
                Column("s3_bucket", "string", "bucket receiving the trail's log files"),
            ),
        ),
        TableSpec(
            REGIONS,
            "One row per (account, region): whether any logging trail covers the region.",
            (Column("has_logging_trail", "boolean", "a logging trail (homed here, or multi-region) covers it"),),
        ),
    ),
    calls=(
        call("cloudtrail", "DescribeTrails"),
        call("cloudtrail", "GetTrailStatus", "is_logging", "has_logging_trail"),
        call("cloudtrail", "ListTags", *TAG_COLUMNS),
    ),
    collect=collect_cloudtrail,
    description="CloudTrail trails, log file validation and regional coverage",
)
