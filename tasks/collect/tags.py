"""Tags of every resource of one type in a region, in pages of 100 (Resource Groups Tagging API).

One `tag:GetResources` page replaces up to 100 per-resource tag calls (ListTagsForResource,
ListResourceTags, GetBucketTagging, …). Resources never tagged are not listed: absent means no tags.
When the API is refused (an SCP, a policy without `tag:GetResources`), collectors fall back to their
own per-resource tag call, so tags are never silently empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from tasks.aws import AWS_ERRORS, error_code
from tasks.collect.base import CollectContext, tag_dict

PAGE_SIZE = 100  # the most GetResources returns per page
log = logging.getLogger(__name__)

TagIndex = Mapping[str, Mapping[str, str]]


def tags_by_arn(ctx: CollectContext, resource_type: str, region: str | None = None) -> TagIndex | None:
    """ARN -> tags for `resource_type` (e.g. "kms:key", or a service such as "logs") in `region`.

    None when the tagging API cannot be used here; the caller then asks resource by resource.
    """
    client = ctx.client("resourcegroupstaggingapi", region or ctx.region)
    found: dict[str, dict[str, str]] = {}
    try:
        pages = client.get_paginator("get_resources").paginate(
            ResourceTypeFilters=[resource_type], ResourcesPerPage=PAGE_SIZE
        )
        for page in pages:
            for item in page.get("ResourceTagMappingList", []):
                found[item["ResourceARN"]] = tag_dict(item.get("Tags"))
    except AWS_ERRORS as exc:
        log.info(
            "tag:GetResources for %s in %s refused (%s); reading tags per resource",
            resource_type,
            region or ctx.region,
            error_code(exc),
        )
        return None
    return found


def resource_tags(
    ctx: CollectContext,
    index: TagIndex | None,
    arn: str,
    operation: str,
    fetch: Callable[[], Mapping[str, str]],
) -> dict[str, str]:
    """The resource's tags from the index, else from its own tag call (`fetch`); a failure is a gap."""
    if index is not None:
        return dict(index.get(arn, {}))
    try:
        return dict(fetch())
    except AWS_ERRORS as exc:
        ctx.gap(operation, exc, resource_id=arn)
        return {}
