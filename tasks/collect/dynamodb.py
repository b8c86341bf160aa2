"""DynamoDB table encryption: which kind of KMS key protects each table.

DescribeTable tells whether SSE uses KMS and with which key; whether that key is the AWS-managed
`aws/dynamodb` key or a customer-managed one is read from the region's KMS aliases (AWS-managed keys
are the targets of the reserved `alias/aws/*` names): one ListAliases page per region instead of a
DescribeKey per key. When ListAliases is refused, each distinct key is described once.
"""

from __future__ import annotations

from typing import Any

from complyflow.core.tables import TAGGING, Column, TableSpec, call, tag_fallback
from tasks.aws import AWS_ERRORS, paginate
from tasks.collect.base import CollectContext, Collector, tag_dict
from tasks.collect.parallel import map_bounded
from tasks.collect.tags import TagIndex, resource_tags, tags_by_arn

TABLE = "dynamodb_tables"


def _describe(ctx: CollectContext, ddb: Any, name: str) -> dict[str, Any] | None:
    """DescribeTable, or None when it failed (a gap); runs in a worker thread."""
    try:
        return ddb.describe_table(TableName=name)["Table"]
    except AWS_ERRORS as exc:
        arn = f"arn:{ctx.partition}:dynamodb:{ctx.region}:{ctx.account_id}:table/{name}"
        ctx.gap("DescribeTable", exc, resource_id=arn)
        return None


def _kms_key_arn(table: dict[str, Any]) -> str | None:
    """The KMS key of a table encrypted with KMS, None for the default AWS-owned key."""
    sse = table.get("SSEDescription") or {}
    if sse.get("Status") in ("ENABLED", "UPDATING") and sse.get("SSEType") == "KMS":
        return sse.get("KMSMasterKeyArn", "")
    return None


def _aws_managed_key_ids(kms: Any) -> set[str] | None:
    """Ids of the region's AWS-managed keys (targets of `alias/aws/*`), None when ListAliases is refused."""
    try:
        aliases = paginate(kms, "list_aliases", "Aliases", PaginationConfig={"PageSize": 100})
    except AWS_ERRORS:
        return None
    return {
        a["TargetKeyId"] for a in aliases if a.get("AliasName", "").startswith("alias/aws/") and a.get("TargetKeyId")
    }


def _in_account(arn: str, account_id: str) -> bool:
    parts = arn.split(":")
    return len(parts) > 5 and parts[4] == account_id


def _key_managers(ctx: CollectContext, kms: Any, key_arns: list[str]) -> dict[str, str | Exception]:
    """KeyManager (AWS / CUSTOMER) of each distinct key, or the error that hid it."""
    aws_managed = _aws_managed_key_ids(kms)
    if aws_managed is not None:
        # An AWS-managed key is never shared across accounts: a key of another account is the customer's.
        return {
            arn: "AWS" if _in_account(arn, ctx.account_id) and arn.rsplit("/", 1)[-1] in aws_managed else "CUSTOMER"
            for arn in key_arns
        }

    def describe(key_arn: str) -> str | Exception:
        try:
            return kms.describe_key(KeyId=key_arn)["KeyMetadata"]["KeyManager"]
        except AWS_ERRORS as exc:
            return exc

    return dict(zip(key_arns, map_bounded(describe, key_arns), strict=True))


def _row(
    ctx: CollectContext, ddb: Any, table: dict[str, Any], managers: dict[str, str | Exception], tagged: TagIndex | None
) -> dict[str, Any]:
    arn = table["TableArn"]
    key_arn = _kms_key_arn(table)
    encryption: str | None = "AWS_OWNED"
    if key_arn is not None:
        manager = managers[key_arn]
        if isinstance(manager, Exception):
            ctx.gap("kms:DescribeKey", manager, resource_id=arn)
            encryption = None
        else:
            encryption = "CUSTOMER_MANAGED" if manager == "CUSTOMER" else "AWS_MANAGED"
    tags = resource_tags(
        ctx,
        tagged,
        arn,
        "ListTagsOfResource",
        lambda: tag_dict(paginate(ddb, "list_tags_of_resource", "Tags", ResourceArn=arn)),
    )
    return {
        "resource_arn": arn,
        "resource_name": table["TableName"],
        "tags": tags,
        "encryption": encryption,
        "kms_key_arn": key_arn or "",
    }


def collect_dynamodb(ctx: CollectContext) -> None:
    ddb = ctx.client()
    kms = ctx.client("kms")
    tagged = tags_by_arn(ctx, "dynamodb:table")
    names = paginate(ddb, "list_tables", "TableNames")
    tables = [t for t in map_bounded(lambda name: _describe(ctx, ddb, name), names) if t is not None]
    key_arns = sorted({arn for arn in map(_kms_key_arn, tables) if arn is not None})
    managers = _key_managers(ctx, kms, key_arns) if key_arns else {}
    for row in map_bounded(lambda table: _row(ctx, ddb, table, managers, tagged), tables):
        ctx.add(TABLE, resource_type="AwsDynamoDbTable", **row)


COLLECTOR = Collector(
    name="dynamodb-tables",
    service="dynamodb",
    scope="regional",
    declares=(
        TableSpec(
            TABLE,
            "One row per DynamoDB table in the region.",
            (
                Column("encryption", "string", "AWS_OWNED, AWS_MANAGED (aws/dynamodb) or CUSTOMER_MANAGED key"),
                Column("kms_key_arn", "string", "the table's KMS key; empty for the AWS-owned key"),
            ),
        ),
    ),
    calls=(
        call("dynamodb", "ListTables"),
        call("dynamodb", "DescribeTable"),
        call("kms", "ListAliases", "encryption", when="a table uses a KMS key"),
        call("kms", "DescribeKey", "encryption", when="a table uses a KMS key and kms:ListAliases is refused"),
        TAGGING,
        tag_fallback("dynamodb", "ListTagsOfResource"),
    ),
    collect=collect_dynamodb,
    description="DynamoDB table encryption key type",
)
