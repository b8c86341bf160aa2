"""EBS encryption-by-default, a per-region account setting."""

from __future__ import annotations

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
    service="ec2",
    scope="regional",
    tables=(TABLE,),
    collect=collect_ec2,
    description="EBS encryption by default per region",
)
