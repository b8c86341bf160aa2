"""Demo AI-platform resources (Bedrock, SageMaker training jobs and endpoints): compliant and violating examples.

Everything goes through the AWS APIs of whatever boto3 points at (the moto server in `complyflow demo`),
except one repair of moto's Bedrock backend: moto gives every custom model a made-up key ARN whatever the
customization job asked for, where AWS reports the customer-managed key the job named, or no key at all.
`_report_custom_model_keys` sets what AWS would report, the way `age_credentials` sets credential ages.

What the run finds (us-east-1 unless said):
- Bedrock invocation logging on, to an SSE-KMS bucket (encrypted) and a log group without a KMS key (not):
  logging PASS, encryption FAIL; eu-west-1 has no logging configuration: FAIL.
- Custom models: `demo-support-assistant` on the demo CMK (PASS), `demo-summariser-poc` on the AWS-owned key (FAIL).
- Training jobs: `demo-churn-retrain` (VPC, volume key, inter-container encryption on 2 instances: PASS),
  `demo-fraud-train-poc` (none of them on 2 instances: 3 FAIL), `demo-churn-hpo-trial` (network-isolated,
  volume key, 1 instance: PASS, inter-container encryption not applicable).
- Endpoint `demo-assistant-endpoint`: KMS key, data capture, model in a VPC (PASS; not in the model inventory,
  so model-inventory-registered FAILs). The endpoints of `seed_models` have none of the three (FAIL).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import boto3

REGION = "us-east-1"
LOG_BUCKET = "demo-bedrock-invocation-logs"
LOG_GROUP = "/demo/bedrock/invocations"
OWNER = [{"Key": "owner", "Value": "ml-research"}]


def _client(service: str, region: str = REGION) -> Any:
    return boto3.client(service, region_name=region)


def _account() -> str:
    return str(_client("sts").get_caller_identity()["Account"])


def _role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/ml-training"


def _log_bucket(cmk: str) -> None:
    """SSE-KMS on the demo CMK, TLS-only, owner-tagged: compliant under the S3 controls too."""
    s3 = _client("s3")
    s3.create_bucket(Bucket=LOG_BUCKET)
    s3.put_bucket_tagging(Bucket=LOG_BUCKET, Tagging={"TagSet": OWNER})
    default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": cmk}
    s3.put_bucket_encryption(
        Bucket=LOG_BUCKET,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
    )
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{LOG_BUCKET}", f"arn:aws:s3:::{LOG_BUCKET}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    s3.put_bucket_policy(Bucket=LOG_BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))


def seed_bedrock_logging(account: str, cmk: str) -> None:
    _log_bucket(cmk)
    logs = _client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP, tags={"owner": "ml-research"})  # no KMS key
    logs.put_retention_policy(logGroupName=LOG_GROUP, retentionInDays=400)
    _client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={
            "cloudWatchConfig": {"logGroupName": LOG_GROUP, "roleArn": f"arn:aws:iam::{account}:role/bedrock-logging"},
            "s3Config": {"bucketName": LOG_BUCKET, "keyPrefix": "invocations/"},
            "textDataDeliveryEnabled": True,
            "imageDataDeliveryEnabled": False,
            "embeddingDataDeliveryEnabled": False,
        }
    )


def seed_custom_models(account: str, cmk: str) -> None:
    bedrock = _client("bedrock")
    for model, key in (("demo-support-assistant", cmk), ("demo-summariser-poc", None)):
        params: dict[str, Any] = {"customModelKmsKeyId": key} if key else {}
        bedrock.create_model_customization_job(
            jobName=f"{model}-job",
            customModelName=model,
            roleArn=_role(account),
            baseModelIdentifier="amazon.titan-text-express-v1",
            trainingDataConfig={"s3Uri": "s3://demo-training-data/bedrock/train.jsonl"},
            outputDataConfig={"s3Uri": "s3://demo-training-data/bedrock/output/"},
            hyperParameters={"epochCount": "2"},
            customModelTags=[{"key": "owner", "value": "ml-research"}],
            **params,
        )
    _report_custom_model_keys(account, {"demo-support-assistant": cmk, "demo-summariser-poc": None})


def _report_custom_model_keys(account: str, keys: dict[str, str | None]) -> None:
    """Make moto report each custom model's key as AWS does (the CMK the job named, else none)."""
    from moto.bedrock.models import bedrock_backends

    models = bedrock_backends[account][REGION].custom_models
    for name, key in keys.items():
        models[name].model_kms_key_arn = key


def _network() -> tuple[list[str], list[str]]:
    """Two subnets and the security group of the region's default VPC."""
    ec2 = _client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
    return sorted(s["SubnetId"] for s in subnets)[:2], [groups[0]["GroupId"]]


def seed_training_jobs(account: str, cmk: str, subnets: list[str], groups: list[str]) -> None:
    sm = _client("sagemaker")
    common: dict[str, Any] = {
        "AlgorithmSpecification": {
            "TrainingImage": f"{account}.dkr.ecr.{REGION}.amazonaws.com/demo-training:1",
            "TrainingInputMode": "File",
        },
        "RoleArn": _role(account),
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    }
    vpc = {"Subnets": subnets, "SecurityGroupIds": groups}
    jobs: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
        (
            "demo-churn-retrain",
            "ml-research",
            {"InstanceCount": 2, "VolumeKmsKeyId": cmk},
            {"VpcConfig": vpc, "EnableInterContainerTrafficEncryption": True},
        ),
        ("demo-fraud-train-poc", "data-eng", {"InstanceCount": 2}, {}),
        (
            "demo-churn-hpo-trial",
            "ml-research",
            {"InstanceCount": 1, "VolumeKmsKeyId": cmk},
            {"EnableNetworkIsolation": True},
        ),
    ]
    for name, owner, resources, security in jobs:
        sm.create_training_job(
            TrainingJobName=name,
            OutputDataConfig={"S3OutputPath": f"s3://demo-training-data/models/{name}/", "KmsKeyId": cmk},
            ResourceConfig={"InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 50, **resources},
            Tags=[{"Key": "owner", "Value": owner}],
            **common,
            **security,
        )


def seed_compliant_endpoint(account: str, cmk: str, subnets: list[str], groups: list[str]) -> None:
    sm = _client("sagemaker")
    sm.create_model(
        ModelName="demo-assistant-model",
        ExecutionRoleArn=_role(account),
        PrimaryContainer={"Image": f"{account}.dkr.ecr.{REGION}.amazonaws.com/demo-inference:2"},
        VpcConfig={"Subnets": subnets, "SecurityGroupIds": groups},
        Tags=OWNER,
    )
    sm.create_endpoint_config(
        EndpointConfigName="demo-assistant-config",
        ProductionVariants=[
            {
                "VariantName": "primary",
                "ModelName": "demo-assistant-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        KmsKeyId=cmk,
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": "s3://demo-model-monitoring/data-capture/demo-assistant-endpoint/",
            "KmsKeyId": cmk,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    sm.create_endpoint(EndpointName="demo-assistant-endpoint", EndpointConfigName="demo-assistant-config", Tags=OWNER)


def seed_ai_platform(now: datetime, keys: dict[str, str]) -> None:
    """Create the AI-platform part of the demo estate; `keys` are the demo KMS key ARNs by name."""
    del now  # every resource here is created now; the training-job window is exercised in the tests
    account, cmk = _account(), keys["cmk"]
    seed_bedrock_logging(account, cmk)
    seed_custom_models(account, cmk)
    subnets, groups = _network()
    seed_training_jobs(account, cmk, subnets, groups)
    seed_compliant_endpoint(account, cmk, subnets, groups)
