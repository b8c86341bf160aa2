"""RDS storage encryption; DescribeDBInstances carries tags, so one paginated call per region."""

from __future__ import annotations

from complyflow.core.tables import Column, TableSpec, call
from tasks.aws import paginate
from tasks.collect.base import CollectContext, Collector, tag_dict

TABLE = "rds_instances"


def collect_rds(ctx: CollectContext) -> None:
    for db in paginate(ctx.client(), "describe_db_instances", "DBInstances"):
        ctx.add(
            TABLE,
            resource_arn=db["DBInstanceArn"],
            resource_type="AwsRdsDbInstance",
            resource_name=db["DBInstanceIdentifier"],
            tags=tag_dict(db.get("TagList")),
            engine=db.get("Engine", ""),
            storage_encrypted=bool(db.get("StorageEncrypted", False)),
            kms_key_id=db.get("KmsKeyId", ""),
        )


COLLECTOR = Collector(
    name="rds-instances",
    service="rds",
    scope="regional",
    declares=(
        TableSpec(
            TABLE,
            "One row per RDS DB instance (tags come with DescribeDBInstances).",
            (
                Column("engine", "string", "database engine, e.g. postgres, mysql, aurora-postgresql"),
                Column("storage_encrypted", "boolean", "storage encrypted at rest"),
                Column("kms_key_id", "string", "ARN of the KMS key encrypting the storage; empty when none"),
            ),
        ),
    ),
    calls=(call("rds", "DescribeDBInstances"),),
    collect=collect_rds,
    description="RDS DB instance storage encryption",
)
