"""SageMaker endpoints as deployed: the KMS key and data capture of their configuration, their models' VPC.

One row per endpoint, not per endpoint configuration: configurations are immutable and pile up, and only
the one an endpoint runs matters. Data capture is read from the endpoint (DescribeEndpoint's live
`DataCaptureConfig`), else from its configuration, where `EnableCapture` defaults to true. The models are
those of the production and shadow variants (shadow variants receive a copy of live traffic); each is
read with DescribeModel for its `VpcConfig`.

The storage of instance types with local NVMe disks is encrypted by the hardware and SageMaker refuses a
KMS key for it (instance_storage.py): `storage_encrypted` holds when the configuration names a key, or
when such an instance type forbids one. Serverless variants run on capacity SageMaker manages: they take
no KMS key for a storage volume and support neither data capture nor a VPC, so `serverless` lets controls
leave them out. Variants that carry
no model name host inference components: their network is the endpoint configuration's own `VpcConfig`,
which is then judged in place of a model's.
"""

from __future__ import annotations

import json
from typing import Any

from complyflow.core.tables import TAGGING, Column, TableSpec, call, tag_fallback
from tasks.aws import AWS_ERRORS, paginate
from tasks.collect.availability import region_lacks_service
from tasks.collect.base import CollectContext, Collector, tag_dict
from tasks.collect.instance_storage import any_hardware_encrypted, hardware_encrypted_storage
from tasks.collect.parallel import map_bounded
from tasks.collect.tags import TagIndex, resource_tags, tags_by_arn

TABLE = "sagemaker_endpoint_security"
CONFIG_COLUMNS = ("kms_key_id", "has_kms_key", "serverless", "data_capture_enabled", "data_capture_percent")
STORAGE_COLUMNS = ("local_storage", "storage_encrypted")
MODEL_COLUMNS = ("models", "models_in_vpc", "models_outside_vpc")


def capture(endpoint: dict[str, Any], config: dict[str, Any]) -> tuple[bool, int | None]:
    """(capture enabled, sampling percent): the endpoint's live state, else its configuration's."""
    live = endpoint.get("DataCaptureConfig")
    declared = config.get("DataCaptureConfig")
    planned = (declared or {}).get("InitialSamplingPercentage")
    if live:
        # AWS's summary always carries EnableCapture; absent, it defaults to enabled as in the configuration.
        enabled = bool(live.get("EnableCapture", True)) and live.get("CaptureStatus", "Started") == "Started"
        percent = live.get("CurrentSamplingPercentage", planned)
    else:
        enabled = bool(declared) and bool(declared.get("EnableCapture", True))
        percent = planned
    return enabled, percent if enabled else None


def _config_facts(config: dict[str, Any], endpoint: dict[str, Any]) -> dict[str, Any]:
    variants = [*config.get("ProductionVariants", []), *config.get("ShadowProductionVariants", [])]
    enabled, percent = capture(endpoint, config)
    return {
        "kms_key_id": config.get("KmsKeyId") or "",
        "has_kms_key": bool(config.get("KmsKeyId")),
        "serverless": any(v.get("ServerlessConfig") for v in variants),
        "data_capture_enabled": enabled,
        "data_capture_percent": percent,
    }


def _model_facts(ctx: CollectContext, sm: Any, arn: str, config: dict[str, Any]) -> dict[str, Any]:
    variants = [*config.get("ProductionVariants", []), *config.get("ShadowProductionVariants", [])]
    names = sorted({v["ModelName"] for v in variants if v.get("ModelName")})
    outside: list[str] = []
    if any(not v.get("ModelName") for v in variants) and not (config.get("VpcConfig") or {}).get("Subnets"):
        outside.append(f"inference components of {config.get('EndpointConfigName', '')}")
    for name in names:
        try:
            subnets = (sm.describe_model(ModelName=name).get("VpcConfig") or {}).get("Subnets")
        except AWS_ERRORS as exc:
            ctx.gap("DescribeModel", exc, resource_id=arn)
            return {"models": json.dumps(names), "models_in_vpc": None, "models_outside_vpc": None}
        if not subnets:
            outside.append(name)
    return {
        "models": json.dumps(names),
        "models_in_vpc": not outside if variants else None,
        "models_outside_vpc": json.dumps(outside),
    }


def _inspect(
    ctx: CollectContext, sm: Any, summary: dict[str, Any], tagged: TagIndex | None
) -> tuple[dict[str, Any], list[str] | None]:
    """One endpoint's row and its variants' instance types (None: its configuration is unknown; a gap)."""
    name, arn = summary["EndpointName"], summary["EndpointArn"]
    row: dict[str, Any] = {"resource_arn": arn, "resource_name": name, "endpoint_config": None}
    row.update(dict.fromkeys((*CONFIG_COLUMNS, *STORAGE_COLUMNS, *MODEL_COLUMNS)))
    row["endpoint_status"] = summary.get("EndpointStatus", "")
    row["tags"] = resource_tags(
        ctx, tagged, arn, "ListTags", lambda: tag_dict(paginate(sm, "list_tags", "Tags", ResourceArn=arn))
    )
    try:
        endpoint = sm.describe_endpoint(EndpointName=name)
        row["endpoint_config"] = endpoint["EndpointConfigName"]
        config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    except AWS_ERRORS as exc:
        ctx.gap(getattr(exc, "operation_name", "DescribeEndpoint"), exc, resource_id=arn)
        return row, None
    row.update(_config_facts(config, endpoint))
    row.update(_model_facts(ctx, sm, arn, config))
    variants = [*config.get("ProductionVariants", []), *config.get("ShadowProductionVariants", [])]
    return row, sorted({v["InstanceType"] for v in variants if v.get("InstanceType")})


def decide_storage(ctx: CollectContext, inspected: list[tuple[dict[str, Any], list[str] | None]]) -> None:
    """Settle `storage_encrypted`: a KMS key, or local disks that forbid one (instance_storage.py)."""
    storage = hardware_encrypted_storage(ctx, {t for _, types in inspected for t in types or ()})
    for row, types in inspected:
        if types is None:
            continue
        local = any_hardware_encrypted(types, storage)
        if isinstance(local, Exception):
            if not row["has_kms_key"]:
                ctx.gap("DescribeInstanceTypes", local, resource_id=row["resource_arn"])
            continue
        row["local_storage"] = local
        row["storage_encrypted"] = bool(row["has_kms_key"]) or local


def collect_endpoint_security(ctx: CollectContext) -> None:
    sm = ctx.client()
    try:
        endpoints = paginate(sm, "list_endpoints", "Endpoints", PaginationConfig={"PageSize": 100})
    except AWS_ERRORS as exc:
        if region_lacks_service(ctx, "sagemaker", exc):
            return
        raise
    tagged = tags_by_arn(ctx, "sagemaker:endpoint") if endpoints else {}
    inspected = map_bounded(lambda summary: _inspect(ctx, sm, summary, tagged), endpoints)
    decide_storage(ctx, inspected)
    for row, _ in inspected:
        ctx.add(TABLE, resource_type="AwsSageMakerEndpoint", **row)


COLLECTOR = Collector(
    name="sagemaker-endpoint-security",
    service="sagemaker",
    scope="regional",
    declares=(
        TableSpec(
            TABLE,
            "One row per SageMaker endpoint in the region: its configuration's encryption and data capture, "
            "its models' VPC.",
            (
                Column("endpoint_status", "string", "InService, Creating, Updating, Failed, Deleting, …"),
                Column("endpoint_config", "string", "name of the endpoint configuration in use"),
                Column("kms_key_id", "string", "the configuration's KmsKeyId for the instances' storage; empty: none"),
                Column("has_kms_key", "boolean", "the configuration names a KMS key"),
                Column("local_storage", "boolean", "a variant's instance type has local NVMe disks (no key possible)"),
                Column("storage_encrypted", "boolean", "a KMS key, or hardware-encrypted local disks that forbid one"),
                Column("serverless", "boolean", "a variant is serverless (no volume key, data capture or VPC)"),
                Column("data_capture_enabled", "boolean", "request/response capture is on (live state, else config)"),
                Column("data_capture_percent", "integer", "percentage of requests captured"),
                Column("models", "json", "JSON list of the SageMaker models of its production and shadow variants"),
                Column("models_in_vpc", "boolean", "every model (inference components: the config) has a VpcConfig"),
                Column("models_outside_vpc", "json", "JSON list of the models without a VpcConfig"),
            ),
        ),
    ),
    calls=(
        call("sagemaker", "ListEndpoints"),
        call("sagemaker", "DescribeEndpoint", "endpoint_config", *CONFIG_COLUMNS, *STORAGE_COLUMNS, *MODEL_COLUMNS),
        call("sagemaker", "DescribeEndpointConfig", *CONFIG_COLUMNS, *STORAGE_COLUMNS, *MODEL_COLUMNS),
        call("ec2", "DescribeInstanceTypes", *STORAGE_COLUMNS, when="a region has endpoints"),
        call("sagemaker", "DescribeModel", *MODEL_COLUMNS),
        TAGGING,
        tag_fallback("sagemaker", "ListTags"),
    ),
    collect=collect_endpoint_security,
    description="SageMaker endpoints: configuration KMS key and data capture, models in a VPC",
)
