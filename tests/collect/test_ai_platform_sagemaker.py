"""SageMaker training jobs (network, volume key, inter-container encryption) and endpoints (KMS, data capture, VPC).

moto has no inference components, no shadow variants and no UpdateEndpoint; those paths are tested on the
parsing functions with recorded API answers. moto creates every training job "Completed" at the current
time; `_age` moves a job back in time (and running) in moto's backend, as AWS would report an older job.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tasks.collect.instance_storage import any_hardware_encrypted
from tasks.collect.sagemaker_endpoint_security import _model_facts, capture
from tasks.collect.sagemaker_training import LOOKBACK_DAYS, instance_count, instance_types
from tests.collect.test_ai_platform_bedrock import no_endpoint
from tests.support.evaluate import collect, evaluate
from tests.support.faults import denied

pytestmark = pytest.mark.usefixtures("aws")
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ml-training"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
VPC = {"Subnets": ["subnet-0a1b2c3d"], "SecurityGroupIds": ["sg-0a1b2c3d"]}
ISOLATION = "sagemaker-training-network-isolation"
VOLUME = "sagemaker-training-volume-kms"
INTER = "sagemaker-training-inter-container-encryption"


def _sm() -> Any:
    return boto3.client("sagemaker", region_name="us-east-1")


def _job(
    name: str, count: int = 1, volume_key: str | None = None, instance: str = "ml.m5.xlarge", **security: Any
) -> None:
    resources: dict[str, Any] = {"InstanceType": instance, "InstanceCount": count, "VolumeSizeInGB": 10}
    if volume_key:
        resources["VolumeKmsKeyId"] = volume_key
    _sm().create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={
            "TrainingImage": "123.dkr.ecr.us-east-1.amazonaws.com/t:1",
            "TrainingInputMode": "File",
        },
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": f"s3://out/{name}"},
        ResourceConfig=resources,
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        Tags=[{"Key": "owner", "Value": "ml-research"}],
        **security,
    )


def _age(name: str, days: float, status: str = "Completed") -> None:
    from moto.sagemaker.models import sagemaker_backends

    job = sagemaker_backends[ACCOUNT]["us-east-1"].training_jobs[name]
    job.creation_time = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)  # moto keeps naive UTC
    job.training_job_status = status


def _verdicts(control: str, result: Any = None) -> dict[str, str]:
    return {f.resource_name: str(f.status) for f in evaluate(control, result=result)}


# --- training jobs -----------------------------------------------------------------------------


def test_network_isolation_or_a_vpc_protects_a_training_job() -> None:
    _job("isolated", EnableNetworkIsolation=True)
    _job("in-vpc", VpcConfig=VPC)
    _job("open")
    _job("empty-vpc-flag", EnableNetworkIsolation=False)
    assert _verdicts(ISOLATION) == {"isolated": "PASS", "in-vpc": "PASS", "open": "FAIL", "empty-vpc-flag": "FAIL"}


def test_volumes_need_a_kms_key() -> None:
    _job("keyed", volume_key=KEY)
    _job("plain")
    assert _verdicts(VOLUME) == {"keyed": "PASS", "plain": "FAIL"}
    frame = collect("sagemaker_training_jobs").tables["sagemaker_training_jobs"].set_index("resource_name")
    assert frame.loc["keyed", "volume_kms_key_id"] == KEY
    assert json.loads(frame.loc["plain", "tags"]) == {"owner": "ml-research"}


def test_local_nvme_instance_types_need_no_volume_key() -> None:
    # SageMaker refuses VolumeKmsKeyId for types with local disks: EC2 says they are hardware-encrypted.
    _job("gpu-local", instance="ml.g5.xlarge")
    _job("ebs-plain", instance="ml.m5.xlarge")
    _job("sagemaker-only-type", instance="ml.future9.large")  # unknown to EC2: read as EBS-backed
    assert _verdicts(VOLUME) == {"gpu-local": "PASS", "ebs-plain": "FAIL", "sagemaker-only-type": "FAIL"}
    frame = collect("sagemaker_training_jobs").tables["sagemaker_training_jobs"].set_index("resource_name")
    assert frame["local_storage"].to_dict() == {"gpu-local": True, "ebs-plain": False, "sagemaker-only-type": False}


def test_denied_instance_type_read_is_an_error_only_without_a_key() -> None:
    _job("keyed", volume_key=KEY)
    _job("plain")
    with denied("DescribeInstanceTypes"):
        result = collect("sagemaker_training_jobs")
    assert {g.resource_id.rsplit("/", 1)[-1] for g in result.gaps} == {"plain"}
    assert set(result.gaps[0].columns) == {"volume_encrypted", "local_storage"}
    assert _verdicts(VOLUME, result) == {"keyed": "PASS", "plain": "ERROR"}
    assert _verdicts(ISOLATION, result) == {"keyed": "FAIL", "plain": "FAIL"}  # decided all the same


@pytest.mark.parametrize(
    ("types", "storage", "expected"),
    [
        (["ml.g5.xlarge", "ml.m5.xlarge"], {"ml.g5.xlarge": True, "ml.m5.xlarge": False}, True),
        (["ml.m5.xlarge"], {"ml.m5.xlarge": False}, False),
        ([], {}, False),
        (["ml.m5.xlarge", "ml.x"], {"ml.m5.xlarge": False, "ml.x": RuntimeError("denied")}, "error"),
        (["ml.g5.xlarge", "ml.x"], {"ml.g5.xlarge": True, "ml.x": RuntimeError("denied")}, True),
    ],
)
def test_one_local_disk_type_forbids_the_key(types: list, storage: dict, expected: object) -> None:
    answer = any_hardware_encrypted(types, storage)
    assert isinstance(answer, Exception) if expected == "error" else answer is expected


def test_heterogeneous_clusters_list_every_instance_type() -> None:
    groups = {"InstanceGroups": [{"InstanceType": "ml.p4d.24xlarge"}, {"InstanceType": "ml.c5.xlarge"}]}
    assert instance_types(groups) == ["ml.c5.xlarge", "ml.p4d.24xlarge"]
    assert instance_types({"InstanceType": "ml.m5.large"}) == ["ml.m5.large"]


def test_inter_container_encryption_applies_to_distributed_jobs_only() -> None:
    _job("single", count=1)
    _job("distributed-plain", count=2)
    _job("distributed-encrypted", count=4, EnableInterContainerTrafficEncryption=True)
    assert _verdicts(INTER) == {"distributed-plain": "FAIL", "distributed-encrypted": "PASS"}


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"InstanceCount": 1}, 1),
        ({"InstanceGroups": [{"InstanceCount": 1}, {"InstanceCount": 2}]}, 3),  # heterogeneous cluster
        ({"InstanceGroups": [{"InstanceCount": 1}]}, 1),
        ({}, None),
    ],
)
def test_instance_count_of_every_resource_shape(resource: dict, expected: int | None) -> None:
    assert instance_count(resource) == expected


def test_only_recent_or_running_jobs_are_collected() -> None:
    for name in ("inside", "outside", "old-but-running", "edge-inside", "edge-outside"):
        _job(name)
    _age("inside", 5)
    _age("outside", LOOKBACK_DAYS + 40)
    _age("old-but-running", LOOKBACK_DAYS + 40, status="InProgress")
    _age("edge-inside", LOOKBACK_DAYS - 0.01)
    _age("edge-outside", LOOKBACK_DAYS + 0.01)
    frame = collect("sagemaker_training_jobs").tables["sagemaker_training_jobs"]
    assert set(frame["resource_name"]) == {"inside", "old-but-running", "edge-inside"}
    assert frame.set_index("resource_name").loc["old-but-running", "job_status"] == "InProgress"


def test_training_jobs_are_listed_across_pages() -> None:
    for i in range(101):
        _job(f"job-{i:03d}", volume_key=KEY)
    verdicts = _verdicts(VOLUME)  # pages of 100: the 101st job is on the second page
    assert len(verdicts) == 101 and set(verdicts.values()) == {"PASS"}


def test_denied_job_read_is_an_error_for_that_job_only() -> None:
    _job("readable", EnableNetworkIsolation=True)
    _job("hidden", EnableNetworkIsolation=True, count=2)
    with denied("DescribeTrainingJob", when=lambda p: p["TrainingJobName"] == "hidden"):
        result = collect("sagemaker_training_jobs")
    assert _verdicts(ISOLATION, result) == {"readable": "PASS", "hidden": "ERROR"}
    assert _verdicts(INTER, result) == {"hidden": "ERROR"}  # its size unknown: applicable, not known


def test_denied_listing_is_an_error_for_the_region() -> None:
    with denied("ListTrainingJobs"):
        result = collect("sagemaker_training_jobs")
    (gap,) = result.gaps
    assert gap.resource_id is None and gap.operation == "ListTrainingJobs"


# --- endpoints ---------------------------------------------------------------------------------


def _endpoint(name: str, *, kms: bool = False, capture_config: dict | None = None, vpc: bool = False) -> None:
    sm = _sm()
    model: dict[str, Any] = {"VpcConfig": VPC} if vpc else {}
    sm.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "123.dkr.ecr.us-east-1.amazonaws.com/i:1"},
        **model,
    )
    config: dict[str, Any] = {"KmsKeyId": KEY} if kms else {}
    if capture_config is not None:
        config["DataCaptureConfig"] = {
            "InitialSamplingPercentage": 20,
            "DestinationS3Uri": "s3://capture/",
            "CaptureOptions": [{"CaptureMode": "Input"}],
            **capture_config,
        }
    variant = {
        "VariantName": "v",
        "ModelName": f"{name}-model",
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    sm.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[variant], **config)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config", Tags=[{"Key": "owner", "Value": "x"}])


def test_endpoint_kms_data_capture_and_vpc() -> None:
    _endpoint("secure", kms=True, capture_config={"EnableCapture": True}, vpc=True)
    _endpoint("bare")
    _endpoint("capture-off", capture_config={"EnableCapture": False})
    _endpoint("capture-default", capture_config={})  # EnableCapture omitted: enabled by default
    assert _verdicts("sagemaker-endpoint-kms") == {
        "secure": "PASS",
        "bare": "FAIL",
        "capture-off": "FAIL",
        "capture-default": "FAIL",
    }
    assert _verdicts("sagemaker-endpoint-data-capture") == {
        "secure": "PASS",
        "bare": "FAIL",
        "capture-off": "FAIL",
        "capture-default": "PASS",
    }
    vpc = _verdicts("sagemaker-endpoint-model-vpc")
    assert vpc == {"secure": "PASS", "bare": "FAIL", "capture-off": "FAIL", "capture-default": "FAIL"}
    frame = collect("sagemaker_endpoint_security").tables["sagemaker_endpoint_security"].set_index("resource_name")
    assert json.loads(frame.loc["bare", "models_outside_vpc"]) == ["bare-model"]
    assert frame.loc["secure", "data_capture_percent"] == 20


def test_endpoint_on_local_nvme_instances_needs_no_key() -> None:
    sm = _sm()
    sm.create_model(ModelName="gpu-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "i"}, VpcConfig=VPC)
    variant = {
        "VariantName": "v",
        "ModelName": "gpu-model",
        "InitialInstanceCount": 1,
        "InstanceType": "ml.g4dn.xlarge",
    }
    sm.create_endpoint_config(EndpointConfigName="gpu-config", ProductionVariants=[variant])
    sm.create_endpoint(EndpointName="gpu", EndpointConfigName="gpu-config")
    _endpoint("cpu")
    assert _verdicts("sagemaker-endpoint-kms") == {"gpu": "PASS", "cpu": "FAIL"}


def test_serverless_endpoints_are_not_applicable() -> None:
    sm = _sm()
    sm.create_model(ModelName="sls-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "i"})
    sm.create_endpoint_config(
        EndpointConfigName="sls-config",
        ProductionVariants=[
            {
                "VariantName": "v",
                "ModelName": "sls-model",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
            }
        ],
    )
    sm.create_endpoint(EndpointName="sls", EndpointConfigName="sls-config")
    for control in ("sagemaker-endpoint-kms", "sagemaker-endpoint-data-capture", "sagemaker-endpoint-model-vpc"):
        assert _verdicts(control) == {}, control


@pytest.mark.parametrize(("status", "applies"), [("Failed", False), ("Deleting", False), ("Updating", True)])
def test_failed_or_deleting_endpoints_serve_nothing(status: str, applies: bool) -> None:
    from moto.sagemaker.models import sagemaker_backends

    _endpoint("ep")
    sagemaker_backends[ACCOUNT]["us-east-1"].endpoints["ep"].endpoint_status = status  # moto keeps InService
    for control in ("sagemaker-endpoint-kms", "sagemaker-endpoint-data-capture", "sagemaker-endpoint-model-vpc"):
        assert _verdicts(control) == ({"ep": "FAIL"} if applies else {}), control


def test_a_deleted_model_leaves_the_vpc_unknown_and_the_rest_decided() -> None:
    _endpoint("orphan", kms=True)
    _sm().delete_model(ModelName="orphan-model")  # AWS lets an endpoint outlive its model
    result = collect("sagemaker_endpoint_security")
    assert [g.operation for g in result.gaps] == ["DescribeModel"]
    assert _verdicts("sagemaker-endpoint-model-vpc", result) == {"orphan": "ERROR"}
    assert _verdicts("sagemaker-endpoint-kms", result) == {"orphan": "PASS"}


def test_denied_endpoint_read_is_an_error_for_every_endpoint_control() -> None:
    _endpoint("hidden", kms=True, capture_config={}, vpc=True)
    with denied("DescribeEndpointConfig"):
        result = collect("sagemaker_endpoint_security")
    assert [g.operation for g in result.gaps] == ["DescribeEndpointConfig"]
    for control in ("sagemaker-endpoint-kms", "sagemaker-endpoint-data-capture", "sagemaker-endpoint-model-vpc"):
        assert _verdicts(control, result) == {"hidden": "ERROR"}, control


@pytest.mark.parametrize(
    ("endpoint", "config", "expected"),
    [
        (
            {"DataCaptureConfig": {"EnableCapture": True, "CaptureStatus": "Started", "CurrentSamplingPercentage": 5}},
            {},
            (True, 5),
        ),
        ({"DataCaptureConfig": {"EnableCapture": True, "CaptureStatus": "Stopped"}}, {}, (False, None)),
        ({"DataCaptureConfig": {"CaptureStatus": "Started"}}, {}, (True, None)),
        (
            {"DataCaptureConfig": {"EnableCapture": False}},
            {"DataCaptureConfig": {"EnableCapture": True}},
            (False, None),
        ),
        ({}, {"DataCaptureConfig": {"InitialSamplingPercentage": 50}}, (True, 50)),
        ({}, {}, (False, None)),
    ],
)
def test_data_capture_reads_the_live_state_first(endpoint: dict, config: dict, expected: tuple) -> None:
    assert capture(endpoint, config) == expected


class _Models:
    """A recorded DescribeModel answer per model name."""

    def __init__(self, vpc: dict[str, bool]) -> None:
        self.vpc = vpc

    def describe_model(self, ModelName: str) -> dict[str, Any]:  # noqa: N803 - boto3's parameter name
        return {"ModelName": ModelName, **({"VpcConfig": VPC} if self.vpc[ModelName] else {})}


class _Context:
    def gap(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("no gap expected")


def test_shadow_variant_models_count() -> None:
    config = {"ProductionVariants": [{"ModelName": "live"}], "ShadowProductionVariants": [{"ModelName": "shadow"}]}
    facts = _model_facts(_Context(), _Models({"live": True, "shadow": False}), "arn", config)  # type: ignore[arg-type]
    assert (facts["models_in_vpc"], json.loads(facts["models_outside_vpc"])) == (False, ["shadow"])


@pytest.mark.parametrize(("vpc", "expected"), [(VPC, True), ({"Subnets": []}, False), (None, False)])
def test_inference_component_endpoints_are_judged_by_the_config_vpc(vpc: dict | None, expected: bool) -> None:
    config: dict[str, Any] = {"EndpointConfigName": "ic-config", "ProductionVariants": [{"VariantName": "ic"}]}
    if vpc is not None:
        config["VpcConfig"] = vpc
    facts = _model_facts(_Context(), _Models({}), "arn", config)  # type: ignore[arg-type]
    assert facts["models_in_vpc"] is expected
    assert json.loads(facts["models_outside_vpc"]) == ([] if expected else ["inference components of ic-config"])


# --- regions without SageMaker -------------------------------------------------------------------


@pytest.mark.parametrize("table", ["sagemaker_training_jobs", "sagemaker_endpoint_security"])
def test_a_region_without_sagemaker_has_nothing_and_no_gap(table: str) -> None:
    # botocore lists SageMaker in every region it knows; a region it does not list (here a future one) has no endpoint.
    with no_endpoint("sagemaker", "eu-future-1"):
        result = collect(table, regions=("eu-future-1",))
    assert result.gaps == [] and result.tables[table].empty


@pytest.mark.parametrize("table", ["sagemaker_training_jobs", "sagemaker_endpoint_security"])
def test_no_endpoint_where_sagemaker_is_offered_is_a_gap(table: str) -> None:
    with no_endpoint("sagemaker", "us-east-1"):
        result = collect(table)
    assert [g.error_code for g in result.gaps] == ["EndpointConnectionError"]
