"""The fewest AWS API calls that can read the evidence of the 18 AWS controls for a given estate.

Computed from the estate, not from a run: each list call at the largest page size AWS accepts, plus one
call per resource where AWS has no batch form. Two variants differ only in how tags (owner routing)
are read: with each service's own tag call, or in pages from the Resource Groups Tagging API
(`tag:GetResources`, up to 100 resources a page), which is a batch form for every service here.
"""

from __future__ import annotations

from collections import Counter
from math import ceil

from bench.estate import REGIONS, Estate

#: Largest page size per list operation (AWS API reference).
PAGE = {
    "iam:GetAccountAuthorizationDetails": 1000,
    "s3:ListBuckets": 10000,
    "rds:DescribeDBInstances": 100,
    "dynamodb:ListTables": 100,
    "sagemaker:ListNotebookInstances": 100,
    "kms:ListKeys": 1000,
    "logs:DescribeLogGroups": 50,
    "cloudtrail:ListTags": 20,
    "tagging:GetResources": 100,
}


def _pages(operation: str, items: int) -> int:
    return max(1, ceil(items / PAGE[operation]))


def minimum_calls(estate: Estate, tagging_api: bool = False) -> Counter[str]:
    """'service:Operation' -> minimum calls. Notes on each choice are inline."""
    calls: Counter[str] = Counter()
    per_region = {k: estate.per_region(k) for k in ("log_groups", "kms_keys", "rds", "dynamodb", "notebooks")}
    calls["sts:GetCallerIdentity"] = 1  # the scope names no account id
    calls["iam:GetAccountSummary"] = 1  # root MFA
    calls["iam:GenerateCredentialReport"] = 1  # passwords, MFA, key ages and last use, one CSV
    calls["iam:GetCredentialReport"] = 1
    # Users (with tags and attached policies) and roles in one paginated call.
    calls["iam:GetAccountAuthorizationDetails"] = _pages(
        "iam:GetAccountAuthorizationDetails", estate.iam_users + estate.iam_roles
    )
    # ListBuckets with MaxBuckets returns each bucket's region, so GetBucketLocation is not needed.
    calls["s3:ListBuckets"] = _pages("s3:ListBuckets", estate.buckets)
    calls["s3:GetBucketEncryption"] = estate.buckets
    calls["s3:GetBucketPolicy"] = estate.buckets
    for _region in REGIONS:
        calls["ec2:GetEbsEncryptionByDefault"] += 1
        calls["rds:DescribeDBInstances"] += _pages("rds:DescribeDBInstances", per_region["rds"])  # carries tags
        calls["dynamodb:ListTables"] += _pages("dynamodb:ListTables", per_region["dynamodb"])
        calls["dynamodb:DescribeTable"] += per_region["dynamodb"]  # SSE key; no batch form
        calls["sagemaker:ListNotebookInstances"] += _pages("sagemaker:ListNotebookInstances", per_region["notebooks"])
        calls["sagemaker:DescribeNotebookInstance"] += per_region["notebooks"]  # KmsKeyId; no batch form
        calls["kms:ListKeys"] += _pages("kms:ListKeys", per_region["kms_keys"])
        # DescribeKey of every key also answers DynamoDB's "customer or AWS managed?" (same region).
        calls["kms:DescribeKey"] += per_region["kms_keys"] + estate.aws_managed_keys_per_region
        calls["kms:GetKeyRotationStatus"] += per_region["kms_keys"]  # every bench key is rotatable
        calls["logs:DescribeLogGroups"] += _pages("logs:DescribeLogGroups", per_region["log_groups"])
        calls["cloudtrail:DescribeTrails"] += 1  # with shadow trails: every trail that covers the region
        calls["cloudtrail:ListTags"] += 1  # trails homed in the region (one each here)
    calls["cloudtrail:GetTrailStatus"] = estate.trails  # once per trail, not once per region that lists it
    if tagging_api:
        for region in REGIONS:
            tagged = (
                per_region["log_groups"]
                + per_region["kms_keys"]
                + per_region["dynamodb"]
                + per_region["notebooks"]
                + estate.buckets // len(REGIONS)
                + (region == "us-east-1")
            )
            calls["tagging:GetResources"] += _pages("tagging:GetResources", tagged)
    else:
        calls["s3:GetBucketTagging"] = estate.buckets
        calls["dynamodb:ListTagsOfResource"] = estate.count("dynamodb")
        calls["sagemaker:ListTags"] = estate.count("notebooks")
        calls["kms:ListResourceTags"] = estate.count("kms_keys")
        calls["logs:ListTagsForResource"] = estate.count("log_groups")
    return calls
