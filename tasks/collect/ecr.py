"""ECR repositories: whether images are scanned on push, tag mutability and encryption.

Scan-on-push has two homes in ECR. Registry scanning rules (GetRegistryScanningConfiguration), when
any are set, decide for every repository they match and override the repository's own
`imageScanningConfiguration.scanOnPush`; without rules the repository setting applies. Both are read,
and `scan_on_push` is the effective answer with `scan_source` saying which setting gave it.
Tags are read per repository (ListTagsForResource): ECR repositories are few, and one call each keeps
the answer exact wherever the tagging API does not list them.
"""

from __future__ import annotations

import re
from typing import Any

from complyflow.core.tables import TAG_COLUMNS, Column, TableSpec, call
from tasks.aws import AWS_ERRORS, paginate
from tasks.collect.base import CollectContext, Collector, tag_dict
from tasks.collect.parallel import map_bounded

TABLE = "ecr_repositories"
SCANNING = ("scan_on_push", "scan_source", "registry_scan_type")
#: Registry rule frequencies under which a pushed image is scanned.
ON_PUSH = ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")


def _wildcard(pattern: str) -> re.Pattern[str]:
    """An ECR repository filter (`*` matches any run of characters, all else literal, case-sensitive)."""
    return re.compile("".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", pattern)))


def registry_decision(rules: list[dict[str, Any]], repository: str) -> bool | None:
    """What the registry's scanning rules say for `repository`; None when no rule is set (the repository decides)."""
    if not rules:
        return None
    for rule in rules:
        if rule.get("scanFrequency") not in ON_PUSH:
            continue
        filters = rule.get("repositoryFilters") or []
        if any(_wildcard(f.get("filter", "")).fullmatch(repository) for f in filters):
            return True
    return False


def _scanning(ctx: CollectContext, ecr: Any) -> dict[str, Any] | Exception:
    try:
        return ecr.get_registry_scanning_configuration().get("scanningConfiguration") or {}
    except AWS_ERRORS as exc:
        return exc


def _inspect(ctx: CollectContext, ecr: Any, repo: dict[str, Any], registry: dict[str, Any] | Exception) -> dict:
    """One repository's row (its gaps go to `ctx`); runs in a worker thread."""
    arn, name = repo["repositoryArn"], repo["repositoryName"]
    own = bool((repo.get("imageScanningConfiguration") or {}).get("scanOnPush"))
    facts: dict[str, Any] = {
        "scan_on_push_setting": own,
        "image_tag_mutability": repo.get("imageTagMutability", ""),
        "encryption_type": (repo.get("encryptionConfiguration") or {}).get("encryptionType", ""),
        "kms_key": (repo.get("encryptionConfiguration") or {}).get("kmsKey", ""),
    }
    if isinstance(registry, Exception):
        ctx.gap("GetRegistryScanningConfiguration", registry, resource_id=arn)
        facts.update(dict.fromkeys(SCANNING))
    else:
        decided = registry_decision(registry.get("rules") or [], name)
        facts.update(
            registry_scan_type=registry.get("scanType", "BASIC"),
            scan_on_push=own if decided is None else decided,
            scan_source="repository setting" if decided is None else "registry rules",
        )
    tags: dict[str, str] = {}
    try:
        tags = tag_dict(ecr.list_tags_for_resource(resourceArn=arn).get("tags"))
    except AWS_ERRORS as exc:
        ctx.gap("ListTagsForResource", exc, resource_id=arn)
    return {"resource_arn": arn, "resource_name": name, "tags": tags, **facts}


def collect_ecr(ctx: CollectContext) -> None:
    ecr = ctx.client()
    repositories = paginate(ecr, "describe_repositories", "repositories", PaginationConfig={"PageSize": 1000})
    if not repositories:
        return
    registry = _scanning(ctx, ecr)
    for row in map_bounded(lambda repo: _inspect(ctx, ecr, repo, registry), repositories):
        ctx.add(TABLE, resource_type="AwsEcrRepository", **row)


COLLECTOR = Collector(
    name="ecr-repositories",
    service="ecr",
    scope="regional",
    declares=(
        TableSpec(
            TABLE,
            "One row per ECR repository of the account's private registry in the region.",
            (
                Column("scan_on_push", "boolean", "pushed images are scanned (registry rules, else the repository)"),
                Column("scan_source", "string", "which setting decided scan_on_push: registry rules or repository"),
                Column("registry_scan_type", "string", "BASIC or ENHANCED (Amazon Inspector) registry scanning"),
                Column("scan_on_push_setting", "boolean", "the repository's own scanOnPush flag"),
                Column("image_tag_mutability", "string", "MUTABLE or IMMUTABLE image tags"),
                Column("encryption_type", "string", "AES256 or KMS (KMS_DSSE)"),
                Column("kms_key", "string", "the KMS key ARN when encryption_type is KMS"),
            ),
        ),
    ),
    calls=(
        call("ecr", "DescribeRepositories"),
        call("ecr", "GetRegistryScanningConfiguration", *SCANNING, when="the region has a repository"),
        call("ecr", "ListTagsForResource", *TAG_COLUMNS),
    ),
    collect=collect_ecr,
    description="ECR repositories: scan on push (registry rules and repository setting), tags, encryption",
)
