"""Demo perimeter resources (API Gateway, S3 Block Public Access, log-group KMS, data lifecycle rules).

Each new control gets a resource that passes and one that fails, except the account-wide Block Public
Access (one account, one verdict): the demo account leaves BlockPublicPolicy off, so it fails, and the
buckets that block public access themselves pass.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3

from tasks.aws import unprefix_ip_endpoint

ACCOUNT = "123456789012"
LAMBDA_URI = (
    "arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:{region}:123456789012:function:demo-predict/invocations"
)
ALL_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
#: Buckets someone opened: every other bucket keeps Block Public Access, as AWS sets it on new buckets.
OPENED_BUCKETS = ("demo-raw-uploads",)


def _client(service: str, region: str = "us-east-1") -> Any:
    client = boto3.client(service, region_name=region)
    if service == "s3control":  # reachable behind the demo's address endpoint, as the collector reaches it
        client.meta.events.register("before-call.s3-control", unprefix_ip_endpoint)
    return client


def _rest_api(
    region: str,
    name: str,
    owner: str,
    methods: dict[str, tuple[str, str, str]],
    stage: str,
    throttled: bool,
    access_log: str | None,
) -> None:
    """A REST API with methods {"VERB /path": (authorization, integration, path part)} deployed to `stage`."""
    apigw = _client("apigateway", region)
    api = apigw.create_rest_api(name=name, tags={"owner": owner})["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    resources: dict[str, str] = {}
    for key, (auth, integration, part) in methods.items():
        verb = key.split()[0]
        if part not in resources:
            resources[part] = apigw.create_resource(restApiId=api, parentId=root, pathPart=part)["id"]
        resource = resources[part]
        apigw.put_method(restApiId=api, resourceId=resource, httpMethod=verb, authorizationType=auth)
        uri = LAMBDA_URI.format(region=region) if integration.startswith("AWS") else "https://labeling.demo.example/"
        target = {} if integration == "MOCK" else {"integrationHttpMethod": "POST", "uri": uri}
        apigw.put_integration(restApiId=api, resourceId=resource, httpMethod=verb, type=integration, **target)
    apigw.create_deployment(restApiId=api, stageName=stage)
    patches = []
    if throttled:
        patches += [("/*/*/throttling/rateLimit", "50"), ("/*/*/throttling/burstLimit", "100")]
    if access_log:
        patches += [
            ("/accessLogSettings/destinationArn", access_log),
            ("/accessLogSettings/format", "$context.requestId"),
        ]
    if patches:
        apigw.update_stage(
            restApiId=api,
            stageName=stage,
            patchOperations=[{"op": "replace", "path": path, "value": value} for path, value in patches],
        )


def seed_apis(keys: dict[str, str]) -> None:
    """A model API that authorizes, throttles and logs (with its CORS preflight), and a labeling API that does none."""
    logs = _client("logs")
    logs.create_log_group(logGroupName="/demo/api-access", kmsKeyId=keys["cmk"], tags={"owner": "ml-research"})
    logs.put_retention_policy(logGroupName="/demo/api-access", retentionInDays=400)
    _rest_api(
        "us-east-1",
        "demo-inference-api",
        "ml-research",
        {"POST /predict": ("AWS_IAM", "AWS_PROXY", "predict"), "OPTIONS /predict": ("NONE", "MOCK", "predict")},
        "prod",
        throttled=True,
        access_log=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/demo/api-access",
    )
    _rest_api(
        "eu-west-1",
        "demo-labeling-api",
        "data-eng",
        {"GET /tasks": ("NONE", "HTTP_PROXY", "tasks")},
        "dev",
        throttled=False,
        access_log=None,
    )
    apigw = _client("apigateway")
    apigw.create_domain_name(
        domainName="models.demo-ml.example", securityPolicy="TLS_1_2", tags={"owner": "ml-research"}
    )
    apigw.create_domain_name(domainName="legacy.demo-ml.example", securityPolicy="TLS_1_0", tags={"owner": "data-eng"})


def _tag(bucket: str, region: str, **tags: str) -> None:
    """Add tags to a bucket, keeping its own (PutBucketTagging replaces the whole set)."""
    s3 = _client("s3", region)
    try:
        current = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    except s3.exceptions.ClientError:
        current = {}
    merged = [{"Key": k, "Value": v} for k, v in {**current, **tags}.items()]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": merged})


def seed_data_lifecycle() -> None:
    """Training data that expires after two years (PASS); operational features kept forever (FAIL)."""
    _tag("demo-training-data", "us-east-1", **{"data-class": "ai-training"})
    _client("s3").put_bucket_lifecycle_configuration(
        Bucket="demo-training-data",
        LifecycleConfiguration={
            "Rules": [{"ID": "retention", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 730}}]
        },
    )
    _tag("demo-eu-features", "eu-west-1", **{"data-class": "ai-operational"})


def seed_ai_logs(keys: dict[str, str]) -> None:
    """AI log groups by AWS's names: a SageMaker endpoint's on the CMK (PASS), a Bedrock agent's without (FAIL)."""
    logs = _client("logs")
    for name, kms in (("/aws/sagemaker/Endpoints/demo-churn", keys["cmk"]), ("/aws/bedrock/agents/demo-support", None)):
        logs.create_log_group(logGroupName=name, tags={"owner": "ml-research"}, **({"kmsKeyId": kms} if kms else {}))
        logs.put_retention_policy(logGroupName=name, retentionInDays=400)


def block_public_access_as_aws_does(opened: tuple[str, ...] = OPENED_BUCKETS) -> None:
    """Block Public Access on every demo bucket but `opened`, as AWS sets it on new buckets (moto does not).

    Run after every other seeding step, so that buckets added by any part of the estate are covered.
    """
    s3 = _client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        if bucket["Name"] not in opened:
            s3.put_public_access_block(
                Bucket=bucket["Name"], PublicAccessBlockConfiguration=dict.fromkeys(ALL_FLAGS, True)
            )


def seed_perimeter(now: datetime, keys: dict[str, str]) -> None:
    """Create the perimeter part of the demo estate; `keys` are the demo KMS key ARNs by name."""
    del now  # nothing here ages
    seed_apis(keys)
    seed_data_lifecycle()
    seed_ai_logs(keys)
    # The account lets bucket policies make buckets public (BlockPublicPolicy off): the account control fails.
    _client("s3control").put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={**dict.fromkeys(ALL_FLAGS, True), "BlockPublicPolicy": False},
    )
