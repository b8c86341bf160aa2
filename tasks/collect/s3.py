"""S3 bucket encryption and TLS-only evidence.

S3 has no batch form for bucket settings: one ListBuckets, then per bucket its encryption, policy
and tags, each asked in the bucket's own region.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from complyflow.core.tables import TAGGING, Column, TableSpec, call, tag_fallback
from tasks.aws import AWS_ERRORS
from tasks.collect.base import CollectContext, Collector, tag_dict
from tasks.collect.parallel import map_bounded
from tasks.collect.policy_documents import denies_insecure_transport
from tasks.collect.tags import TagIndex, resource_tags, tags_by_arn

TABLE = "s3_buckets"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _list_buckets(s3: Any, **filters: str) -> list[dict[str, Any]]:
    """Every bucket; with a page size set, AWS also returns each bucket's region (`BucketRegion`)."""
    buckets: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": 10000}, **filters):
        buckets.extend(page.get("Buckets", []))
    return buckets


def _known_regions(ctx: CollectContext, s3: Any, buckets: list[dict[str, Any]]) -> dict[str, str]:
    """Bucket name -> region without a call per bucket: from `BucketRegion`, else one filtered list per region.

    Endpoints that leave `BucketRegion` out (older S3-compatible APIs, emulators) still answer a
    `BucketRegion` filter; buckets in no region of the scope are left to GetBucketLocation.
    """
    known = {b["Name"]: str(b["BucketRegion"]) for b in buckets if b.get("BucketRegion")}
    if len(known) == len(buckets):
        return known
    listed: dict[str, str] = {}
    for region in ctx.scope_regions:
        try:  # a BucketRegion filter is answered by that region's endpoint only
            names = [b["Name"] for b in _list_buckets(ctx.client(region=region), BucketRegion=region)]
        except AWS_ERRORS:
            return known  # left to GetBucketLocation, bucket by bucket
        if any(name in listed for name in names):
            return known  # the endpoint ignored the filter: trust nothing it said
        listed.update(dict.fromkeys(names, region))
    return {**listed, **known}


def _bucket_region(s3: Any, bucket: dict[str, Any]) -> str:
    if bucket.get("BucketRegion"):
        return str(bucket["BucketRegion"])
    location = s3.get_bucket_location(Bucket=bucket["Name"]).get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)


def _encryption(s3: Any, name: str) -> str:
    """The default encryption algorithm, or "none" when the bucket has no default encryption."""
    try:
        rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as exc:
        if _code(exc) == "ServerSideEncryptionConfigurationNotFoundError":
            return "none"
        raise
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm"):
            return str(default["SSEAlgorithm"])
    return "none"


def _policy(s3: Any, name: str) -> dict[str, Any] | None:
    try:
        return json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    except ClientError as exc:
        if _code(exc) == "NoSuchBucketPolicy":
            return None
        raise


def _tags(s3: Any, name: str) -> dict[str, str]:
    try:
        return tag_dict(s3.get_bucket_tagging(Bucket=name)["TagSet"])
    except ClientError as exc:
        if _code(exc) == "NoSuchTagSet":
            return {}
        raise


def bucket_arn(ctx: CollectContext, name: str) -> str:
    """The bucket's ARN in the account's partition (aws, aws-cn, aws-us-gov), as the tagging API names it."""
    return f"arn:{ctx.partition}:s3:::{name}"


def _region(ctx: CollectContext, s3: Any, bucket: dict[str, Any]) -> str | None:
    """The bucket's region, None (and a gap) when S3 would not say."""
    try:
        return _bucket_region(s3, bucket)
    except AWS_ERRORS as exc:
        ctx.gap("GetBucketLocation", exc, resource_id=bucket_arn(ctx, bucket["Name"]))
        return None


def _inspect(ctx: CollectContext, name: str, region: str | None, tagged: TagIndex | None) -> dict[str, Any]:
    """One bucket's evidence row (its gaps go to `ctx`); runs in a worker thread.

    A bucket of unknown region is asked through the home region (S3 redirects) and its tags are read
    with its own call: the region's tag index cannot be chosen.
    """
    arn = bucket_arn(ctx, name)
    regional = ctx.client(region=region or ctx.region)
    facts: dict[str, Any] = {"default_encryption": None, "tls_only_policy": None}
    try:
        facts["default_encryption"] = _encryption(regional, name)
    except AWS_ERRORS as exc:
        ctx.gap("GetBucketEncryption", exc, resource_id=arn)
    try:
        facts["tls_only_policy"] = denies_insecure_transport(_policy(regional, name), bucket=name)
    except (*AWS_ERRORS, ValueError) as exc:
        ctx.gap("GetBucketPolicy", exc, resource_id=arn)
    tags = resource_tags(ctx, tagged if region else None, arn, "GetBucketTagging", lambda: _tags(regional, name))
    return {"resource_arn": arn, "resource_name": name, "tags": tags, "region": region or ctx.region, **facts}


def collect_s3(ctx: CollectContext) -> None:
    s3 = ctx.client()
    buckets = _list_buckets(s3)
    known = _known_regions(ctx, s3, buckets)
    regions = map_bounded(lambda b: known.get(b["Name"]) or _region(ctx, s3, b), buckets)
    tagged = {region: tags_by_arn(ctx, "s3:bucket", region) for region in sorted({r for r in regions if r})}
    rows = map_bounded(
        lambda pair: _inspect(ctx, pair[0]["Name"], pair[1], tagged.get(pair[1] or "")),
        list(zip(buckets, regions, strict=True)),
    )
    for row in rows:
        ctx.add(TABLE, resource_type="AwsS3Bucket", **row)


COLLECTOR = Collector(
    name="s3-buckets",
    service="s3",
    scope="global",
    declares=(
        TableSpec(
            TABLE,
            "One row per S3 bucket of the account, placed in its own region.",
            (
                Column("default_encryption", "string", "default encryption: AES256, aws:kms, aws:kms:dsse or none"),
                Column("tls_only_policy", "boolean", "the bucket policy denies every request made without TLS"),
            ),
        ),
    ),
    calls=(
        call("s3", "ListBuckets", action="s3:ListAllMyBuckets"),
        call("s3", "GetBucketLocation", "region", when="ListBuckets does not say a bucket's region"),
        call("s3", "GetBucketEncryption", "default_encryption", action="s3:GetEncryptionConfiguration"),
        call("s3", "GetBucketPolicy", "tls_only_policy"),
        TAGGING,
        tag_fallback("s3", "GetBucketTagging"),
    ),
    collect=collect_s3,
    description="S3 default encryption, TLS-only bucket policy and tags",
)
