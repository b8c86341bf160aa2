"""SageMaker endpoints, the models they serve, and whether the model inventory lists them.

An endpoint is the deployed form of a model, so each endpoint is one row: its status, the SageMaker
models of its production variants, and the inventory entry that names it (by endpoint name, or by one of
the models it serves, in the entry's account and region when the entry pins them). The inventory is
policy data read from `configs/models.yaml`; whether being unlisted is acceptable is the control's call.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from complyflow.core.tables import TAG_COLUMNS, Column, TableSpec, call
from tasks.aws import paginate
from tasks.collect.base import CollectContext, Collector, tag_dict
from tasks.drift.inventory import load_inventory

TABLE = "sagemaker_endpoints"


def served_models(sm: Any, endpoint: str) -> tuple[str, list[str]]:
    """(endpoint config name, SageMaker model names of its production variants)."""
    config = sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    variants = sm.describe_endpoint_config(EndpointConfigName=config).get("ProductionVariants", [])
    return config, [v["ModelName"] for v in variants if v.get("ModelName")]


def collect_sagemaker_endpoints(ctx: CollectContext) -> None:
    inventory = load_inventory(ctx.config_dir)
    sm = ctx.client()
    for summary in paginate(sm, "list_endpoints", "Endpoints"):
        name, arn = summary["EndpointName"], summary["EndpointArn"]
        config, models = "", []
        known = True
        try:
            config, models = served_models(sm, name)
        except ClientError as exc:
            ctx.gap("DescribeEndpoint", exc, resource_id=arn)
            known = False
        tags: dict[str, str] = {}
        try:
            tags = tag_dict(paginate(sm, "list_tags", "Tags", ResourceArn=arn))
        except ClientError as exc:
            ctx.gap("ListTags", exc, resource_id=arn)
        entry = inventory.for_endpoint(ctx.account_id, ctx.region, name, models)
        # Unmatched by name and its models unknown: whether it is listed cannot be said.
        registered = True if entry else (False if known else None)
        ctx.add(
            TABLE,
            resource_arn=arn,
            resource_type="AwsSageMakerEndpoint",
            resource_name=name,
            tags=tags,
            endpoint_status=summary.get("EndpointStatus", ""),
            endpoint_config=config,
            served_models=json.dumps(models),
            inventory_model_id=entry.id if entry else "",
            inventory_status=(entry.status or "") if entry else "",
            registered=registered,
        )


COLLECTOR = Collector(
    name="sagemaker-endpoints",
    service="sagemaker",
    scope="regional",
    declares=(
        TableSpec(
            TABLE,
            "One row per SageMaker endpoint in the region, matched against configs/models.yaml.",
            (
                Column("endpoint_status", "string", "InService, Creating, Updating, Failed, Deleting, …"),
                Column("endpoint_config", "string", "name of the endpoint configuration in use"),
                Column("served_models", "json", "JSON list of the SageMaker models of its production variants"),
                Column("inventory_model_id", "string", "id of the models.yaml entry naming it; empty: none"),
                Column("inventory_status", "string", "lifecycle status of that entry"),
                Column("registered", "boolean", "listed in the model inventory; null when its models are unknown"),
            ),
        ),
    ),
    calls=(
        call("sagemaker", "ListEndpoints"),
        call("sagemaker", "DescribeEndpoint", "endpoint_config", "served_models", "registered", "inventory_model_id"),
        call(
            "sagemaker",
            "DescribeEndpointConfig",
            "endpoint_config",
            "served_models",
            "registered",
            "inventory_model_id",
        ),
        call("sagemaker", "ListTags", *TAG_COLUMNS),
    ),
    collect=collect_sagemaker_endpoints,
    description="SageMaker endpoints and their models, matched against the model inventory",
)
