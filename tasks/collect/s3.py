"""S3 buckets: encryption, TLS-only policy, Block Public Access and lifecycle expiration of AI data.

S3 has no batch form for bucket settings: one ListBuckets, then per bucket its encryption, policy,
Block Public Access, lifecycle and tags, each asked in the bucket's own region.

Block Public Access has two levels, and S3 applies, flag by flag, the most restrictive of the account's
(S3 Control GetPublicAccessBlock) and the bucket's: a flag is in effect when either sets it. No
configuration (NoSuchPublicAccessBlockConfiguration) means nothing is blocked at that level.

AI data is marked by the bucket tag `data-class` (see DATA_CLASS_TAG); the controls name the values
(`ai-training`, `ai-operational`). A lifecycle rule expires data when it is Enabled and has an
`Expiration` with `Days` or `Date`; transitions, `ExpiredObjectDeleteMarker` alone or noncurrent-version
rules delete no current object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from complyflow.core.tables import TAG_COLUMNS, Column, TableSpec, call
from tasks.aws import AWS_ERRORS
from tasks.collect.base import DATA_CLASS_TAG, CollectContext, Collector, data_class, tag_dict
from tasks.collect.parallel import map_bounded
from tasks.collect.policy_documents import denies_insecure_transport
from tasks.collect.tags import TagIndex, tags_by_arn

TABLE = "s3_buckets"
ACCOUNT_TABLE = "s3_account_public_access"
#: Block Public Access flags: API field -> column of the account table.
BPA_FLAGS = {
    "BlockPublicAcls": "block_public_acls",
    "IgnorePublicAcls": "ignore_public_acls",
    "BlockPublicPolicy": "block_public_policy",
    "RestrictPublicBuckets": "restrict_public_buckets",
}
NO_BPA = "NoSuchPublicAccessBlockConfiguration"
BUCKET_BPA = ("public_access_blocked", "public_access_unblocked", "bucket_public_access_block")
ACCOUNT_BPA = (*BPA_FLAGS.values(), "public_access_blocked", "configured")
LIFECYCLE = ("lifecycle_expiration", "lifecycle_expiration_days", "lifecycle_expiration_whole_bucket")


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


def _flags(answer: dict[str, Any] | None) -> dict[str, bool]:
    """The four flags of a PublicAccessBlockConfiguration; absent (or no configuration) is False."""
    config = answer or {}
    return {flag: bool(config.get(flag)) for flag in BPA_FLAGS}


def account_block(s3control: Any, account_id: str) -> dict[str, bool] | None:
    """The account's Block Public Access flags; None when the account has no configuration."""
    try:
        answer = s3control.get_public_access_block(AccountId=account_id)
    except ClientError as exc:
        if _code(exc) == NO_BPA:
            return None
        raise
    return _flags(answer.get("PublicAccessBlockConfiguration"))


def _bucket_block(s3: Any, name: str) -> dict[str, bool]:
    try:
        answer = s3.get_public_access_block(Bucket=name)
    except ClientError as exc:
        if _code(exc) == NO_BPA:
            return _flags(None)
        raise
    return _flags(answer.get("PublicAccessBlockConfiguration"))


def effective_block(account: dict[str, bool] | None | Exception, bucket: dict[str, bool]) -> dict[str, Any]:
    """The bucket's BPA columns: per flag account OR bucket; unknown (None) where the unread account could decide."""
    own = ",".join(flag for flag, on in bucket.items() if on)
    if isinstance(account, Exception):
        if all(bucket.values()):  # the bucket blocks everything itself: the account cannot loosen it
            return {"public_access_blocked": True, "public_access_unblocked": "", "bucket_public_access_block": own}
        return {"public_access_blocked": None, "public_access_unblocked": None, "bucket_public_access_block": own}
    account = account or _flags(None)
    missing = [flag for flag in BPA_FLAGS if not (account[flag] or bucket[flag])]
    return {
        "public_access_blocked": not missing,
        "public_access_unblocked": ",".join(missing),
        "bucket_public_access_block": own,
    }


def expiration(rules: list[dict[str, Any]]) -> dict[str, Any]:
    """The lifecycle columns: an enabled rule expires current objects; its shortest `Days`; one covers every object."""
    expiring = [r for r in rules if r.get("Status") == "Enabled" and _expires(r.get("Expiration"))]
    days = [int(r["Expiration"]["Days"]) for r in expiring if r["Expiration"].get("Days") is not None]
    return {
        "lifecycle_expiration": bool(expiring),
        "lifecycle_expiration_days": min(days) if days else None,
        "lifecycle_expiration_whole_bucket": any(_whole_bucket(r) for r in expiring),
    }


def _whole_bucket(rule: dict[str, Any]) -> bool:
    """No filter, an empty one, or an empty prefix (also the legacy top-level `Prefix`): every object."""
    scope = rule["Filter"] if "Filter" in rule else ({"Prefix": rule["Prefix"]} if "Prefix" in rule else {})
    return not scope or scope == {"Prefix": ""}


def _expires(rule: dict[str, Any] | None) -> bool:
    return bool(rule) and (rule.get("Days") is not None or rule.get("Date") is not None)  # type: ignore[union-attr]


def _lifecycle(s3: Any, name: str) -> list[dict[str, Any]]:
    try:
        return list(s3.get_bucket_lifecycle_configuration(Bucket=name).get("Rules") or [])
    except ClientError as exc:
        if _code(exc) == "NoSuchLifecycleConfiguration":
            return []
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


def _inspect(
    ctx: CollectContext,
    name: str,
    region: str | None,
    tagged: TagIndex | None,
    account: dict[str, bool] | None | Exception,
) -> dict[str, Any]:
    """One bucket's evidence row (its gaps go to `ctx`); runs in a worker thread.

    A bucket of unknown region is asked through the home region (S3 redirects) and its tags are read
    with its own call: the region's tag index cannot be chosen.
    """
    arn = bucket_arn(ctx, name)
    regional = ctx.client(region=region or ctx.region)
    facts: dict[str, Any] = {
        "default_encryption": None,
        "tls_only_policy": None,
        **dict.fromkeys(BUCKET_BPA),
        **dict.fromkeys(LIFECYCLE),
    }
    try:
        facts["default_encryption"] = _encryption(regional, name)
    except AWS_ERRORS as exc:
        ctx.gap("GetBucketEncryption", exc, resource_id=arn)
    try:
        facts["tls_only_policy"] = denies_insecure_transport(_policy(regional, name), bucket=name)
    except (*AWS_ERRORS, ValueError) as exc:
        ctx.gap("GetBucketPolicy", exc, resource_id=arn)
    try:
        facts.update(effective_block(account, _bucket_block(regional, name)))
    except AWS_ERRORS as exc:
        ctx.gap("GetPublicAccessBlock", exc, resource_id=arn, tables=(TABLE,))
    if isinstance(account, Exception) and facts["public_access_blocked"] is None:
        ctx.gap("GetPublicAccessBlock", account, resource_id=arn, tables=(TABLE,))
    try:
        facts.update(expiration(_lifecycle(regional, name)))
    except AWS_ERRORS as exc:
        ctx.gap("GetBucketLifecycleConfiguration", exc, resource_id=arn, tables=(TABLE,))
    tags = _known_tags(ctx, tagged if region else None, arn, lambda: _tags(regional, name))
    return {
        "resource_arn": arn,
        "resource_name": name,
        "tags": tags or {},
        "region": region or ctx.region,
        "data_class": data_class(tags),
        **facts,
    }


def _known_tags(
    ctx: CollectContext, index: TagIndex | None, arn: str, fetch: Callable[[], dict[str, str]]
) -> dict[str, str] | None:
    """The bucket's tags, None (and a gap) when neither the tag index nor GetBucketTagging could say."""
    if index is not None:
        return dict(index.get(arn, {}))
    try:
        return fetch()
    except AWS_ERRORS as exc:
        ctx.gap("GetBucketTagging", exc, resource_id=arn, tables=(TABLE,))
        return None


def _account_row(ctx: CollectContext) -> dict[str, bool] | None | Exception:
    """The account's Block Public Access row; the answer (or the failure) also decides every bucket."""
    arn = f"arn:{ctx.partition}:iam::{ctx.account_id}:root"
    try:
        account = account_block(ctx.client("s3control"), ctx.account_id)
    except AWS_ERRORS as exc:
        ctx.gap("GetPublicAccessBlock", exc, resource_id=arn, tables=(ACCOUNT_TABLE,))
        return exc
    flags = account or _flags(None)
    ctx.add(
        ACCOUNT_TABLE,
        resource_arn=arn,
        resource_type="AwsAccount",
        resource_name=ctx.account.name,
        **{BPA_FLAGS[flag]: on for flag, on in flags.items()},
        public_access_blocked=all(flags.values()),
        configured=account is not None,
    )
    return account


def collect_s3(ctx: CollectContext) -> None:
    s3 = ctx.client()
    account = _account_row(ctx)
    buckets = _list_buckets(s3)
    known = _known_regions(ctx, s3, buckets)
    regions = map_bounded(lambda b: known.get(b["Name"]) or _region(ctx, s3, b), buckets)
    tagged = {region: tags_by_arn(ctx, "s3:bucket", region) for region in sorted({r for r in regions if r})}
    rows = map_bounded(
        lambda pair: _inspect(ctx, pair[0]["Name"], pair[1], tagged.get(pair[1] or ""), account),
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
                Column(
                    "public_access_blocked",
                    "boolean",
                    "all four Block Public Access flags in effect (account or bucket)",
                ),
                Column(
                    "public_access_unblocked",
                    "string",
                    "flags in effect at neither level, comma-separated; empty: none",
                ),
                Column("bucket_public_access_block", "string", "the flags the bucket itself sets, comma-separated"),
                Column(
                    "lifecycle_expiration",
                    "boolean",
                    "an Enabled lifecycle rule expires current objects (Days or Date)",
                ),
                Column(
                    "lifecycle_expiration_days",
                    "integer",
                    "the shortest Days of those rules; null: none, or by date only",
                ),
                Column(
                    "lifecycle_expiration_whole_bucket",
                    "boolean",
                    "one of those rules applies to every object (no filter, or an empty prefix)",
                ),
                Column(
                    "data_class",
                    "string",
                    f"the `{DATA_CLASS_TAG}` tag, lower-cased (e.g. ai-training); empty: untagged",
                ),
            ),
        ),
        TableSpec(
            ACCOUNT_TABLE,
            "One row per account: its S3 Block Public Access settings (S3 Control), which apply to every bucket.",
            (
                Column("block_public_acls", "boolean", "BlockPublicAcls: new public ACLs are refused"),
                Column("ignore_public_acls", "boolean", "IgnorePublicAcls: existing public ACLs are ignored"),
                Column("block_public_policy", "boolean", "BlockPublicPolicy: public bucket policies are refused"),
                Column(
                    "restrict_public_buckets",
                    "boolean",
                    "RestrictPublicBuckets: public policies reach only AWS services and the owner",
                ),
                Column("public_access_blocked", "boolean", "all four flags are set for the account"),
                Column("configured", "boolean", "the account has a configuration (none: nothing blocked)"),
            ),
        ),
    ),
    calls=(
        call("s3", "ListBuckets", action="s3:ListAllMyBuckets"),
        call("s3", "GetBucketLocation", "region", when="ListBuckets does not say a bucket's region"),
        call("s3", "GetBucketEncryption", "default_encryption", action="s3:GetEncryptionConfiguration"),
        call("s3", "GetBucketPolicy", "tls_only_policy"),
        # first, so that a gap named GetPublicAccessBlock names every column either level feeds
        call("s3control", "GetPublicAccessBlock", *ACCOUNT_BPA, *BUCKET_BPA, action="s3:GetAccountPublicAccessBlock"),
        call("s3", "GetPublicAccessBlock", *BUCKET_BPA, action="s3:GetBucketPublicAccessBlock"),
        call("s3", "GetBucketLifecycleConfiguration", *LIFECYCLE, action="s3:GetLifecycleConfiguration"),
        call("resourcegroupstaggingapi", "GetResources", *TAG_COLUMNS, "data_class"),
        call("s3", "GetBucketTagging", *TAG_COLUMNS, "data_class", when="tag:GetResources is refused"),
    ),
    collect=collect_s3,
    description="S3 encryption, TLS-only policy, Block Public Access (account and bucket), lifecycle, tags",
)
