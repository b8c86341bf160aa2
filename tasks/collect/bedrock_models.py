"""Bedrock custom models (fine-tuned or continued-pretrained) and the KMS key encrypting their weights.

A custom model holds weights derived from the training data, so it is AI data at rest. Bedrock encrypts
it with an AWS-owned key unless the customization job named a customer-managed key; GetCustomModel then
returns that key as `modelKmsKeyArn`, and omits the field otherwise. The listing is restricted to the
models this account owns (`isOwned`): a model shared with it is the owner account's evidence, and a
shared model is copied into the account (with its own key choice) before use.
Tags are read per model (ListTagsForResource): custom models are few, and the tagging API does not list
every Bedrock resource type.
"""

from __future__ import annotations

from typing import Any

from complyflow.core.tables import TAG_COLUMNS, Column, TableSpec, call
from tasks.aws import AWS_ERRORS, paginate
from tasks.collect.availability import region_lacks_service
from tasks.collect.base import CollectContext, Collector, tag_dict
from tasks.collect.parallel import map_bounded

TABLE = "bedrock_custom_models"
KEY_COLUMNS = ("kms_key_arn", "cmk_encrypted", "model_status")


def _inspect(ctx: CollectContext, bedrock: Any, summary: dict[str, Any]) -> dict[str, Any]:
    """One model's row (its gaps go to `ctx`); runs in a worker thread."""
    arn, name = summary["modelArn"], summary.get("modelName", "")
    facts: dict[str, Any] = dict.fromkeys(KEY_COLUMNS)
    try:
        model = bedrock.get_custom_model(modelIdentifier=arn)
    except AWS_ERRORS as exc:
        ctx.gap("GetCustomModel", exc, resource_id=arn)
    else:
        key = model.get("modelKmsKeyArn") or ""
        facts.update(kms_key_arn=key, cmk_encrypted=bool(key), model_status=model.get("modelStatus", ""))
    tags: dict[str, str] = {}
    try:
        tags = tag_dict(bedrock.list_tags_for_resource(resourceARN=arn).get("tags"), "key", "value")
    except AWS_ERRORS as exc:
        ctx.gap("ListTagsForResource", exc, resource_id=arn)
    return {
        "resource_arn": arn,
        "resource_name": name,
        "tags": tags,
        "base_model_arn": summary.get("baseModelArn", ""),
        "customization_type": summary.get("customizationType", ""),
        **facts,
    }


def collect_bedrock_models(ctx: CollectContext) -> None:
    bedrock = ctx.client()
    try:
        models = paginate(bedrock, "list_custom_models", "modelSummaries", isOwned=True)
    except AWS_ERRORS as exc:
        if region_lacks_service(ctx, "bedrock", exc):
            return  # no Bedrock here, so no custom models
        raise
    for row in map_bounded(lambda summary: _inspect(ctx, bedrock, summary), models):
        ctx.add(TABLE, resource_type="AwsBedrockCustomModel", **row)


COLLECTOR = Collector(
    name="bedrock-custom-models",
    service="bedrock",
    scope="regional",
    declares=(
        TableSpec(
            TABLE,
            "One row per Bedrock custom model the account owns in the region.",
            (
                Column("kms_key_arn", "string", "the customer-managed KMS key of the weights; empty: AWS-owned key"),
                Column("cmk_encrypted", "boolean", "the model is encrypted with a customer-managed KMS key"),
                Column("model_status", "string", "Active, Creating or Failed"),
                Column("base_model_arn", "string", "the foundation model it was customized from"),
                Column("customization_type", "string", "FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION, …"),
            ),
        ),
    ),
    calls=(
        call("bedrock", "ListCustomModels"),
        call("bedrock", "GetCustomModel", *KEY_COLUMNS),
        call("bedrock", "ListTagsForResource", *TAG_COLUMNS),
    ),
    collect=collect_bedrock_models,
    description="Bedrock custom models and their customer-managed KMS keys",
)
