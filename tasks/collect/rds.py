"""RDS storage encryption; DescribeDBInstances carries tags, so one paginated call per region."""

from __future__ import annotations

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
    service="rds",
    scope="regional",
    tables=(TABLE,),
    collect=collect_rds,
    description="RDS DB instance storage encryption",
)
