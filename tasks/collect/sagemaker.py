"""SageMaker notebook instances and whether a KMS key encrypts their storage."""

from __future__ import annotations

from botocore.exceptions import ClientError

from tasks.aws import paginate
from tasks.collect.base import CollectContext, Collector, tag_dict

TABLE = "sagemaker_notebooks"


def collect_sagemaker(ctx: CollectContext) -> None:
    sm = ctx.client()
    for summary in paginate(sm, "list_notebook_instances", "NotebookInstances"):
        name = summary["NotebookInstanceName"]
        arn = summary["NotebookInstanceArn"]
        kms_key = None
        try:
            kms_key = sm.describe_notebook_instance(NotebookInstanceName=name).get("KmsKeyId") or ""
        except ClientError as exc:
            ctx.gap("DescribeNotebookInstance", exc, resource_id=arn)
        tags: dict[str, str] = {}
        try:
            tags = tag_dict(paginate(sm, "list_tags", "Tags", ResourceArn=arn))
        except ClientError as exc:
            ctx.gap("ListTags", exc, resource_id=arn)
        ctx.add(TABLE, resource_arn=arn, resource_type="AwsSageMakerNotebookInstance", resource_name=name,
                tags=tags, kms_key_id=kms_key, has_kms_key=None if kms_key is None else bool(kms_key))


COLLECTOR = Collector(
    service="sagemaker",
    scope="regional",
    tables=(TABLE,),
    collect=collect_sagemaker,
    description="SageMaker notebook instance KMS encryption",
)
