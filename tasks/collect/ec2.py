"""EBS encryption-by-default, a per-region account setting."""

from __future__ import annotations

from complyflow.core.tables import Column, TableSpec, call
from tasks.collect.base import CollectContext, Collector

TABLE = "ec2_regional"


def collect_ec2(ctx: CollectContext) -> None:
    enabled = ctx.client().get_ebs_encryption_by_default()["EbsEncryptionByDefault"]
    ctx.add(
        TABLE,
        resource_arn=f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:account",
        resource_type="AwsAccountRegion",
        resource_name=f"{ctx.account.name} {ctx.region}",
        ebs_encryption_by_default=bool(enabled),
    )


COLLECTOR = Collector(
    name="ec2-settings",
    service="ec2",
    scope="regional",
    declares=(
        TableSpec(
            TABLE,
            "One row per (account, region): the region's EC2 account settings.",
            (Column("ebs_encryption_by_default", "boolean", "new EBS volumes are encrypted by default"),),
        ),
    ),
    calls=(call("ec2", "GetEbsEncryptionByDefault", "ebs_encryption_by_default"),),
    collect=collect_ec2,
    description="EBS encryption by default per region",
)
