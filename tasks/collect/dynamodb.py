"""DynamoDB table encryption: which kind of KMS key protects each table.

DescribeTable tells whether SSE uses KMS and with which key; only KMS DescribeKey tells whether that
key is the AWS-managed `aws/dynamodb` key or a customer-managed one.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tasks.aws import paginate
from tasks.collect.base import CollectContext, Collector, tag_dict

TABLE = "dynamodb_tables"


def _key_manager(kms: Any, key_arn: str, cache: dict[str, str]) -> str:
    if key_arn not in cache:
        cache[key_arn] = kms.describe_key(KeyId=key_arn)["KeyMetadata"]["KeyManager"]
    return cache[key_arn]


def collect_dynamodb(ctx: CollectContext) -> None:
    ddb = ctx.client()
    kms = ctx.client("kms")
    managers: dict[str, str] = {}
    for name in paginate(ddb, "list_tables", "TableNames"):
        try:
            table = ddb.describe_table(TableName=name)["Table"]
        except ClientError as exc:
            ctx.gap("DescribeTable", exc, resource_id=name)
            continue
        arn = table["TableArn"]
        sse = table.get("SSEDescription") or {}
        key_arn = sse.get("KMSMasterKeyArn", "")
        encryption: str | None = "AWS_OWNED"
        if sse.get("Status") in ("ENABLED", "UPDATING") and sse.get("SSEType") == "KMS":
            try:
                manager = _key_manager(kms, key_arn, managers)
                encryption = "CUSTOMER_MANAGED" if manager == "CUSTOMER" else "AWS_MANAGED"
            except ClientError as exc:
                ctx.gap("kms:DescribeKey", exc, resource_id=arn)
                encryption = None
        tags: dict[str, str] = {}
        try:
            tags = tag_dict(paginate(ddb, "list_tags_of_resource", "Tags", ResourceArn=arn))
        except ClientError as exc:
            ctx.gap("ListTagsOfResource", exc, resource_id=arn)
        ctx.add(TABLE, resource_arn=arn, resource_type="AwsDynamoDbTable", resource_name=name, tags=tags,
                encryption=encryption, kms_key_arn=key_arn)


COLLECTOR = Collector(
    service="dynamodb",
    scope="regional",
    tables=(TABLE,),
    collect=collect_dynamodb,
    description="DynamoDB table encryption key type",
)
