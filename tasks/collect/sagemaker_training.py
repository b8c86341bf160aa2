"""SageMaker training jobs: network isolation or a VPC, volume encryption and inter-container encryption.

Training jobs are history: they cannot be deleted and an account keeps every job it ever ran, so listing
all of them each night would grow without bound and re-judge settings nobody can change any more (a
job's configuration is fixed at creation). The listing is therefore bounded to the jobs created in the
last `LOOKBACK_DAYS` days, plus every job still running whatever its age. 30 days exceeds SageMaker's
default maximum runtime (28 days), and each job is judged by about 30 nightly runs, whose sealed evidence
keeps its findings for the audit period after it leaves the window.

Volumes count as encrypted with a `VolumeKmsKeyId`, or when an instance type of the job keeps its storage
on hardware-encrypted local NVMe disks, for which SageMaker refuses a key (instance_storage.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from complyflow.core.tables import TAGGING, Column, TableSpec, call, tag_fallback
from tasks.aws import AWS_ERRORS, paginate
from tasks.collect.availability import region_lacks_service
from tasks.collect.base import CollectContext, Collector, tag_dict
from tasks.collect.instance_storage import any_hardware_encrypted, hardware_encrypted_storage
from tasks.collect.parallel import map_bounded
from tasks.collect.tags import TagIndex, resource_tags, tags_by_arn

TABLE = "sagemaker_training_jobs"
LOOKBACK_DAYS = 30
RUNNING = "InProgress"
SETTINGS = (
    "network_isolation",
    "in_vpc",
    "network_protected",
    "volume_kms_key_id",
    "volume_encrypted",
    "local_storage",
    "output_kms_key_id",
    "inter_container_encryption",
    "instance_count",
)


def instance_count(resource: dict[str, Any]) -> int | None:
    """Instances of the job: `InstanceCount`, or the sum over heterogeneous `InstanceGroups`."""
    if resource.get("InstanceGroups"):
        return sum(int(group.get("InstanceCount") or 0) for group in resource["InstanceGroups"])
    count = resource.get("InstanceCount")
    return None if count is None else int(count)


def instance_types(resource: dict[str, Any]) -> list[str]:
    """ML instance types of the job: `InstanceType`, or those of its heterogeneous `InstanceGroups`."""
    groups = resource.get("InstanceGroups") or [resource]
    return sorted({g["InstanceType"] for g in groups if g.get("InstanceType")})


def settings(job: dict[str, Any]) -> dict[str, Any]:
    """The security settings of one DescribeTrainingJob answer (absent fields mean off, as in the API).

    `volume_encrypted` and `local_storage` are left undecided without a volume key: they wait for the
    instance types' storage (`decide_volumes`).
    """
    resource = job.get("ResourceConfig") or {}
    isolated = bool(job.get("EnableNetworkIsolation"))
    in_vpc = bool((job.get("VpcConfig") or {}).get("Subnets"))
    volume_key = resource.get("VolumeKmsKeyId") or ""
    return {
        "network_isolation": isolated,
        "in_vpc": in_vpc,
        "network_protected": isolated or in_vpc,
        "volume_kms_key_id": volume_key,
        "volume_encrypted": True if volume_key else None,
        "local_storage": None,
        "output_kms_key_id": (job.get("OutputDataConfig") or {}).get("KmsKeyId") or "",
        "inter_container_encryption": bool(job.get("EnableInterContainerTrafficEncryption")),
        "instance_count": instance_count(resource),
    }


def _inspect(
    ctx: CollectContext, sm: Any, summary: dict[str, Any], tagged: TagIndex | None
) -> tuple[dict[str, Any], list[str] | None]:
    """One job's row and instance types (None: the job could not be read; its gap is in `ctx`)."""
    name, arn = summary["TrainingJobName"], summary["TrainingJobArn"]
    facts: dict[str, Any] = dict.fromkeys(SETTINGS)
    types: list[str] | None = None
    try:
        job = sm.describe_training_job(TrainingJobName=name)
        facts, types = settings(job), instance_types(job.get("ResourceConfig") or {})
    except AWS_ERRORS as exc:
        ctx.gap("DescribeTrainingJob", exc, resource_id=arn)
    tags = resource_tags(
        ctx, tagged, arn, "ListTags", lambda: tag_dict(paginate(sm, "list_tags", "Tags", ResourceArn=arn))
    )
    row = {
        "resource_arn": arn,
        "resource_name": name,
        "tags": tags,
        "job_status": summary.get("TrainingJobStatus", ""),
        "age_days": ctx.days_since(summary.get("CreationTime")),
        **facts,
    }
    return row, types


def decide_volumes(ctx: CollectContext, inspected: list[tuple[dict[str, Any], list[str] | None]]) -> None:
    """Settle `local_storage` and `volume_encrypted`: a volume key, or local disks that forbid one."""
    storage = hardware_encrypted_storage(ctx, {t for _, types in inspected for t in types or ()})
    for row, types in inspected:
        if types is None:
            continue  # the job itself is unknown
        local = any_hardware_encrypted(types, storage)
        if isinstance(local, Exception):
            if not row["volume_kms_key_id"]:
                ctx.gap("DescribeInstanceTypes", local, resource_id=row["resource_arn"])
            continue
        row["local_storage"] = local
        row["volume_encrypted"] = bool(row["volume_kms_key_id"]) or local


def recent_jobs(ctx: CollectContext, sm: Any) -> list[dict[str, Any]]:
    """Jobs created within the window, then running ones older than it; each once."""
    since = ctx.as_of - timedelta(days=LOOKBACK_DAYS)
    pages = {"PaginationConfig": {"PageSize": 100}}
    jobs = {
        j["TrainingJobArn"]: j
        for j in paginate(sm, "list_training_jobs", "TrainingJobSummaries", CreationTimeAfter=since, **pages)
    }
    for job in paginate(sm, "list_training_jobs", "TrainingJobSummaries", StatusEquals=RUNNING, **pages):
        jobs.setdefault(job["TrainingJobArn"], job)
    return list(jobs.values())


def collect_sagemaker_training(ctx: CollectContext) -> None:
    sm = ctx.client()
    try:
        jobs = recent_jobs(ctx, sm)
    except AWS_ERRORS as exc:
        if region_lacks_service(ctx, "sagemaker", exc):
            return
        raise
    tagged = tags_by_arn(ctx, "sagemaker:training-job") if jobs else {}
    inspected = map_bounded(lambda summary: _inspect(ctx, sm, summary, tagged), jobs)
    decide_volumes(ctx, inspected)
    for row, _ in inspected:
        ctx.add(TABLE, resource_type="AwsSageMakerTrainingJob", **row)


COLLECTOR = Collector(
    name="sagemaker-training-jobs",
    service="sagemaker",
    scope="regional",
    declares=(
        TableSpec(
            TABLE,
            f"One row per SageMaker training job created in the last {LOOKBACK_DAYS} days or still running.",
            (
                Column("job_status", "string", "InProgress, Completed, Failed, Stopping or Stopped"),
                Column("age_days", "integer", "whole days since the job was created"),
                Column("network_isolation", "boolean", "EnableNetworkIsolation: the containers have no network"),
                Column("in_vpc", "boolean", "the job runs in the account's VPC subnets (VpcConfig)"),
                Column("network_protected", "boolean", "network isolation or a VPC"),
                Column("volume_kms_key_id", "string", "ResourceConfig.VolumeKmsKeyId; empty: none"),
                Column(
                    "volume_encrypted",
                    "boolean",
                    "a KMS key encrypts the storage volumes, or hardware-encrypted local disks forbid one",
                ),
                Column(
                    "local_storage",
                    "boolean",
                    "an instance type has hardware-encrypted local NVMe disks (no key possible)",
                ),
                Column("output_kms_key_id", "string", "the KMS key of the model artifacts in S3; empty: none"),
                Column("inter_container_encryption", "boolean", "EnableInterContainerTrafficEncryption"),
                Column("instance_count", "integer", "instances of the job (all instance groups)"),
            ),
        ),
    ),
    calls=(
        call("sagemaker", "ListTrainingJobs"),
        call("sagemaker", "DescribeTrainingJob", *SETTINGS),
        call("ec2", "DescribeInstanceTypes", "volume_encrypted", "local_storage", when="a region has training jobs"),
        TAGGING,
        tag_fallback("sagemaker", "ListTags"),
    ),
    collect=collect_sagemaker_training,
    description=f"SageMaker training jobs of the last {LOOKBACK_DAYS} days (and running ones): network, encryption",
)
