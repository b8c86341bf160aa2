"""SageMaker notebook instances and whether a KMS key encrypts their storage."""

from __future__ import annotations

from typing import Any

from complyflow.core.tables import TAGGING, Column, TableSpec, call, tag_fallback
from tasks.aws import AWS_ERRORS, paginate
from tasks.collect.base import CollectContext, Collector, tag_dict
from tasks.collect.parallel import map_bounded
from tasks.collect.tags import TagIndex, resource_tags, tags_by_arn

TABLE = "sagemaker_notebooks"


def _inspect(ctx: CollectContext, sm: Any, summary: dict[str, Any], tagged: TagIndex | None) -> dict[str, Any]:
    """One notebook's evidence row (its gaps go to `ctx`); runs in a worker thread."""
    name = summary["NotebookInstanceName"]
    arn = summary["NotebookInstanceArn"]
    kms_key = None
    try:
        kms_key = sm.describe_notebook_instance(NotebookInstanceName=name).get("KmsKeyId") or ""
    except AWS_ERRORS as exc:
        ctx.gap("DescribeNotebookInstance", exc, resource_id=arn)
    tags = resource_tags(
        ctx, tagged, arn, "ListTags", lambda: tag_dict(paginate(sm, "list_tags", "Tags", ResourceArn=arn))
    )
    return {
        "resource_arn": arn,
        "resource_name": name,
        "tags": tags,
        "kms_key_id": kms_key,
        "has_kms_key": None if kms_key is None else bool(kms_key),
    }


def collect_sagemaker(ctx: CollectContext) -> None:
    sm = ctx.client()
    tagged = tags_by_arn(ctx, "sagemaker:notebook-instance")
    notebooks = paginate(sm, "list_notebook_instances", "NotebookInstances", PaginationConfig={"PageSize": 100})
    for row in map_bounded(lambda summary: _inspect(ctx, sm, summary, tagged), notebooks):
        ctx.add(TABLE, resource_type="AwsSageMakerNotebookInstance", **row)


COLLECTOR = Collector(
    name="sagemaker-notebooks",
    service="sagemaker",
    scope="regional",
    declares=(
        TableSpec(
            TABLE,
            "One row per SageMaker notebook instance in the region.",
            (
                Column("kms_key_id", "string", "the KMS key encrypting the notebook's storage volume; empty: none"),
                Column("has_kms_key", "boolean", "a customer KMS key encrypts the storage volume"),
            ),
        ),
    ),
    calls=(
        call("sagemaker", "ListNotebookInstances"),
        call("sagemaker", "DescribeNotebookInstance", "kms_key_id", "has_kms_key"),
        TAGGING,
        tag_fallback("sagemaker", "ListTags"),
    ),
    collect=collect_sagemaker,
    description="SageMaker notebook instance KMS encryption",
)
