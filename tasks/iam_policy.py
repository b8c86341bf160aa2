"""The least-privilege IAM policy, generated from what the code declares and what the config names.

- collection: the declared calls of the collectors the enabled controls need, on `*` (these APIs
  take no resource-level permission, or list resources complyflow cannot know in advance);
- S3 reads of drift reports, of a vendor register kept in AWS and of recurring-evidence prefixes,
  narrowed to the locations `models.yaml`, `vendors.yaml` and `recurring.yaml` name (never
  `s3:GetObject` on `*`);
- `sts:AssumeRole` on the role ARNs of `scope.yaml` (or the documented `complyflow-*` role pattern);
- the evidence store's writes as statements of their own (Sid `EvidenceStore…`), only when it is on S3;
- `kms:Sign` on the manifest-signing key, when it is a KMS key.

`configs/iam-policy.json` is this function's output for the shipped configs; a test keeps them equal.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from complyflow.core.config import Config, load_config
from complyflow.core.deploy_config import EvidenceStoreConfig, load_evidence_store_config
from complyflow.core.recurring import S3Source as RecurringS3Source
from complyflow.core.recurring import load_recurring
from tasks.collect import collectors_for
from tasks.collect.model_drift import DRIFT_REPORT_BUCKETS, DRIFT_REPORT_OBJECTS
from tasks.collect.recurring import RECURRING_OBJECTS, RECURRING_PREFIXES
from tasks.collect.vendors import VENDOR_REGISTER
from tasks.evidence import S3_STORE_CALLS
from tasks.signing import SIGNING_CALLS

#: Used when scope.yaml lists no role: the role name docs/deployments.md tells each account to create.
DEFAULT_ROLE_PATTERN = "arn:{partition}:iam::*:role/complyflow-*"

Statement = dict[str, Any]


def generate_policy(directory: str | Path | None = None) -> dict[str, Any]:
    """The policy document for the config directory (checked first: a bad config raises ConfigError)."""
    config = load_config(directory)
    folder = Path(config.directory)
    partition = _partition(config)
    statements = _collection_statements(config, folder, partition)
    statements.append(_assume_role_statement(config, partition))
    store = load_evidence_store_config(folder)
    statements += _evidence_store_statements(store, partition)
    statements += _signing_statements(store.signing.kms_key_id, partition)
    return {"Version": "2012-10-17", "Statement": statements}


def render(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"


def _partition(config: Config) -> str:
    for account in config.scope.accounts:
        if account.role_arn:
            return account.role_arn.split(":")[1]
    return "aws"


def _collection_statements(config: Config, folder: Path, partition: str) -> list[Statement]:
    tables = {c.evidence_table for c in config.enabled_controls}
    calls = [declared for collector in collectors_for(tables) for declared in collector.calls]
    on_any: dict[str, set[str]] = defaultdict(set)  # IAM service prefix -> actions on "*"
    narrowed: dict[str, set[str]] = defaultdict(set)  # resource set -> actions
    for declared in calls:
        if declared.resources == "*":
            on_any[declared.iam_action.split(":")[0]].add(declared.iam_action)
        else:
            narrowed[declared.resources].add(declared.iam_action)
    statements = [_statement(f"Collect{_sid(prefix)}", actions, ["*"]) for prefix, actions in sorted(on_any.items())]
    resources = _config_resources(folder, partition)
    for resource_set, actions in sorted(narrowed.items()):
        for sid, (acts, arns, condition) in _narrowed(resource_set, actions, resources).items():
            if arns:
                statements.append(_statement(sid, acts, arns, condition))
    return statements


def _narrowed(
    resource_set: str, actions: set[str], resources: dict[str, Any]
) -> dict[str, tuple[set[str], list[str], dict[str, Any] | None]]:
    """One or more statements for a declared resource set; empty ARNs: the config names none (no statement)."""
    if resource_set == DRIFT_REPORT_OBJECTS:
        return {"ReadDriftReports": (actions, resources["drift_objects"], None)}
    if resource_set == DRIFT_REPORT_BUCKETS:
        return {
            f"ListDriftReports{index}": (actions, [bucket], {"StringLike": {"s3:prefix": prefixes}})
            for index, (bucket, prefixes) in enumerate(sorted(resources["drift_listings"].items()), start=1)
        }
    if resource_set == RECURRING_OBJECTS:
        return {"ReadRecurringEvidence": (actions, resources["recurring_objects"], None)}
    if resource_set == RECURRING_PREFIXES:
        return {
            f"ListRecurringEvidence{index}": (actions, [bucket], {"StringLike": {"s3:prefix": prefixes}})
            for index, (bucket, prefixes) in enumerate(sorted(resources["recurring_listings"].items()), start=1)
        }
    if resource_set == VENDOR_REGISTER:
        return {
            "ReadVendorRegister": ({a for a in actions if a in resources["vendor_actions"]}, resources["vendor"], None)
        }
    raise ValueError(f"no resources known for the declared resource set {resource_set!r}")


def _config_resources(folder: Path, partition: str) -> dict[str, Any]:
    """The S3 objects, S3 listings and register tables the config files name."""
    from tasks.drift.inventory import load_inventory
    from tasks.drift.storage import is_s3, split_s3
    from tasks.vendors.settings import DynamoDBSource, S3Source, load_settings

    objects: set[str] = set()
    listings: dict[str, set[str]] = defaultdict(set)
    for model in load_inventory(folder).models:
        sources = model.drift
        if sources is None:
            continue
        for location in (sources.model_monitor, sources.evidently):  # prefixes (evidently: or one file)
            if location and is_s3(location):
                bucket, key = split_s3(location)
                objects.add(f"arn:{partition}:s3:::{bucket}/{key}*")
                listings[f"arn:{partition}:s3:::{bucket}"].add(f"{key}*")
        for location in (sources.reference, sources.current):  # single dataset files
            if location and is_s3(location):
                bucket, key = split_s3(location)
                objects.add(f"arn:{partition}:s3:::{bucket}/{key}")
    vendor: list[str] = []
    vendor_actions: set[str] = set()
    source = load_settings(folder).source
    if isinstance(source, S3Source):
        vendor, vendor_actions = [f"arn:{partition}:s3:::{source.bucket}/{source.key}"], {"s3:GetObject"}
    elif isinstance(source, DynamoDBSource):
        vendor = [f"arn:{partition}:dynamodb:{source.region}:*:table/{source.table}"]
        vendor_actions = {"dynamodb:Scan"}
    recurring_objects: set[str] = set()
    recurring_listings: dict[str, set[str]] = defaultdict(set)
    for task in load_recurring(folder).tasks:
        if task.enabled and isinstance(task.evidence, RecurringS3Source):
            bucket, prefix = task.evidence.bucket, task.evidence.prefix
            recurring_objects.add(f"arn:{partition}:s3:::{bucket}/{prefix}*")
            recurring_listings[f"arn:{partition}:s3:::{bucket}"].add(f"{prefix}*")
    return {
        "recurring_objects": sorted(recurring_objects),
        "recurring_listings": {bucket: sorted(prefixes) for bucket, prefixes in recurring_listings.items()},
        "drift_objects": sorted(objects),
        "drift_listings": {bucket: sorted(prefixes) for bucket, prefixes in listings.items()},
        "vendor": vendor,
        "vendor_actions": vendor_actions,
    }


def _assume_role_statement(config: Config, partition: str) -> Statement:
    roles = sorted({a.role_arn for a in config.scope.accounts if a.role_arn})
    return _statement(
        "AssumeScopeRoles", {"sts:AssumeRole"}, roles or [DEFAULT_ROLE_PATTERN.format(partition=partition)]
    )


def _evidence_store_statements(settings: EvidenceStoreConfig, partition: str) -> list[Statement]:
    if settings.backend != "s3" or settings.s3 is None:
        return []  # a local store needs no AWS permission
    spec = settings.s3
    bucket = f"arn:{partition}:s3:::{spec.bucket}"
    prefix = spec.prefix.strip("/")
    objects = f"{bucket}/{prefix}/*" if prefix else f"{bucket}/*"
    s3_calls = [c for c in S3_STORE_CALLS if c.service == "s3"]
    bucket_actions = {"s3:GetBucketVersioning", "s3:GetBucketObjectLockConfiguration", "s3:ListBucket"}
    statements = [
        _statement("EvidenceStoreBucket", {c.iam_action for c in s3_calls if c.iam_action in bucket_actions}, [bucket]),
        _statement(
            "EvidenceStoreObjects", {c.iam_action for c in s3_calls if c.iam_action not in bucket_actions}, [objects]
        ),
    ]
    if spec.kms_key_id:
        actions = {c.iam_action for c in S3_STORE_CALLS if c.service == "kms"}
        statements.append(_statement("EvidenceStoreEncryption", actions, [_kms_key_arn(spec.kms_key_id, partition)]))
    return statements


def _signing_statements(key_id: str | None, partition: str) -> list[Statement]:
    """kms:Sign (and DescribeKey, GetPublicKey) on the manifest-signing key, when it is a KMS key."""
    if not key_id:
        return []  # the local key file needs no AWS permission
    actions = {c.iam_action for c in SIGNING_CALLS}
    if key_id.startswith("alias/"):  # an alias is not a key resource: match the key by its alias instead
        condition = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [key_id]}}
        return [_statement("EvidenceSigning", actions, ["*"], condition)]
    return [_statement("EvidenceSigning", actions, [_kms_key_arn(key_id, partition)])]


def _kms_key_arn(key_id: str, partition: str) -> str:
    """A KMS key named by ARN, or by id (any region and account of the partition)."""
    return key_id if key_id.startswith("arn:") else f"arn:{partition}:kms:*:*:key/{key_id}"


def _sid(prefix: str) -> str:
    return "".join(part.capitalize() for part in prefix.replace("-", " ").split())


def _statement(sid: str, actions: set[str], resources: list[str], condition: dict[str, Any] | None = None) -> Statement:
    statement: Statement = {
        "Sid": f"Complyflow{sid}",
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement
