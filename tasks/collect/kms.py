"""KMS keys: manager, state, spec and automatic rotation.

Rotation status is asked only where AWS can answer it (customer-managed symmetric keys that are
enabled or disabled); for the others the column stays empty and no control applies.
"""

from __future__ import annotations

from typing import Any

from complyflow.core.tables import TAGGING, Column, TableSpec, call, tag_fallback
from tasks.aws import AWS_ERRORS, paginate
from tasks.collect.base import CollectContext, Collector, tag_dict
from tasks.collect.parallel import map_bounded
from tasks.collect.tags import TagIndex, resource_tags, tags_by_arn

TABLE = "kms_keys"
ROTATABLE_STATES = ("Enabled", "Disabled")


def _rotation(kms: Any, meta: dict[str, Any]) -> bool | None:
    if meta.get("KeyManager") != "CUSTOMER" or meta.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
        return None
    if meta.get("KeyState") not in ROTATABLE_STATES or meta.get("Origin", "AWS_KMS") != "AWS_KMS":
        return None
    return bool(kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"])


def _inspect(ctx: CollectContext, kms: Any, key: dict[str, Any], tagged: TagIndex | None) -> dict[str, Any] | None:
    """One key's evidence row, or None when DescribeKey failed (a gap); runs in a worker thread."""
    arn = key["KeyArn"]
    try:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    except AWS_ERRORS as exc:
        ctx.gap("DescribeKey", exc, resource_id=arn)
        return None
    facts: dict[str, Any] = {
        "key_manager": meta.get("KeyManager", ""),
        "key_state": meta.get("KeyState", ""),
        "key_spec": meta.get("KeySpec", "SYMMETRIC_DEFAULT"),
        "origin": meta.get("Origin", ""),
        "rotation_enabled": None,
    }
    try:
        facts["rotation_enabled"] = _rotation(kms, meta)
    except AWS_ERRORS as exc:
        ctx.gap("GetKeyRotationStatus", exc, resource_id=arn)
    tags: dict[str, str] = {}
    if meta.get("KeyManager") == "CUSTOMER":  # AWS-managed keys carry no tags
        tags = resource_tags(
            ctx,
            tagged,
            arn,
            "ListResourceTags",
            lambda: tag_dict(paginate(kms, "list_resource_tags", "Tags", KeyId=key["KeyId"]), "TagKey", "TagValue"),
        )
    return {"resource_arn": arn, "resource_name": meta.get("Description") or key["KeyId"], "tags": tags, **facts}


def collect_kms(ctx: CollectContext) -> None:
    kms = ctx.client()
    tagged = tags_by_arn(ctx, "kms:key")
    keys = paginate(kms, "list_keys", "Keys", PaginationConfig={"PageSize": 1000})
    for row in map_bounded(lambda key: _inspect(ctx, kms, key, tagged), keys):
        if row is not None:
            ctx.add(TABLE, resource_type="AwsKmsKey", **row)


KEYS = TableSpec(
    TABLE,
    "One row per KMS key in the region, AWS-managed and customer-managed.",
    (
        Column("key_manager", "string", "CUSTOMER or AWS"),
        Column("key_state", "string", "Enabled, Disabled, PendingDeletion, PendingImport, Unavailable, …"),
        Column("key_spec", "string", "SYMMETRIC_DEFAULT, RSA_2048, ECC_NIST_P256, HMAC_256, …"),
        Column("origin", "string", "AWS_KMS, EXTERNAL, AWS_CLOUDHSM or EXTERNAL_KEY_STORE"),
        Column(
            "rotation_enabled",
            "boolean",
            "automatic rotation on; null where AWS cannot rotate (AWS-managed, asymmetric, imported, pending)",
        ),
    ),
)

COLLECTOR = Collector(
    name="kms-keys",
    service="kms",
    scope="regional",
    declares=(KEYS,),
    calls=(
        call("kms", "ListKeys"),
        call("kms", "DescribeKey"),
        call("kms", "GetKeyRotationStatus", "rotation_enabled", when="customer-managed symmetric AWS_KMS keys"),
        TAGGING,
        tag_fallback("kms", "ListResourceTags"),
    ),
    collect=collect_kms,
    description="KMS key rotation",
)
