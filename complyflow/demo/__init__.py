"""The embedded demo estate: a moto server on 127.0.0.1 seeded with compliant and violating resources.

The nightly flow reaches it through `AWS_ENDPOINT_URL`, the same code path as real AWS. moto cannot
set credential ages or last-use dates through the API, so `age_credentials` adjusts its backend
objects directly; that is the only place that knows moto is there.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from complyflow.demo.ai_platform import seed_ai_platform
from complyflow.demo.models import seed_models
from complyflow.demo.perimeter import block_public_access_as_aws_does, seed_perimeter
from complyflow.demo.recurring import seed_recurring_evidence

DEMO_ACCOUNT = "123456789012"
DEMO_REGIONS = ("us-east-1", "eu-west-1")
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - moto's documented dummy credentials
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",  # so AdministratorAccess exists, as in real AWS
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 with the environment pointing boto3 at it; restored afterwards."""
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in (*FAKE_CREDENTIALS, "AWS_ENDPOINT_URL")}
    os.environ.update(FAKE_CREDENTIALS)
    port = _free_port()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log: one line per API call
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto keeps its state per process: start from an empty estate even if a demo ran here before.
    reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310 - our own http server
    urllib.request.urlopen(reset, timeout=30).close()  # noqa: S310
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


@dataclass(frozen=True)
class UserSpec:
    name: str
    owner: str | None
    console: bool = False
    mfa: bool = False
    password_unused_days: int | None = None  # None: never used
    keys: tuple[tuple[str, int, int | None], ...] = ()  # (status, age days, unused days or None = never used)
    admin: bool = False
    created_days: int = 400


DEMO_USERS = (
    UserSpec("alice", "ml-research", console=True, mfa=True, password_unused_days=3, keys=(("Active", 30, 2),)),
    UserSpec("bob", "data-eng", console=True, mfa=False, password_unused_days=10, keys=(("Active", 120, 1),)),
    UserSpec("carol", "ml-research", keys=(("Inactive", 200, 150), ("Active", 20, None))),
    UserSpec("dave", None, console=True, mfa=True, password_unused_days=5, admin=True),
    UserSpec("erin", "data-eng", console=True, mfa=True, password_unused_days=120, keys=(("Active", 60, 95),)),
)


def _client(service: str, region: str = "us-east-1") -> Any:
    return boto3.client(service, region_name=region)


def seed_iam(users: tuple[UserSpec, ...] = DEMO_USERS) -> None:
    iam = _client("iam")
    for spec in users:
        tags = [{"Key": "owner", "Value": spec.owner}] if spec.owner else []
        iam.create_user(UserName=spec.name, Tags=tags)
        if spec.console:
            iam.create_login_profile(UserName=spec.name, Password="Demo-Passw0rd!x")  # noqa: S106
        if spec.mfa:
            serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=spec.name)["VirtualMFADevice"]["SerialNumber"]
            iam.enable_mfa_device(
                UserName=spec.name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
            )
        for status, _age, _unused in spec.keys:
            key = iam.create_access_key(UserName=spec.name)["AccessKey"]
            if status != "Active":
                iam.update_access_key(UserName=spec.name, AccessKeyId=key["AccessKeyId"], Status=status)
        if spec.admin:
            iam.attach_user_policy(UserName=spec.name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")


def age_credentials(users: tuple[UserSpec, ...], now: datetime, account: str = DEMO_ACCOUNT) -> None:
    """Set credential ages in moto's backend (the API cannot), relative to `now`."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["global"]
    for spec in users:
        user = backend.users[spec.name]
        user.create_date = now - timedelta(days=spec.created_days, hours=1)
        if spec.console and spec.password_unused_days is not None:
            user.password_last_used = now - timedelta(days=spec.password_unused_days, hours=1)
        for key, (_status, age, unused) in zip(user.access_keys, spec.keys, strict=True):
            key.create_date = now - timedelta(days=age, hours=1)
            key.last_used = None if unused is None else now - timedelta(days=unused, hours=1)


TLS_ONLY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::{b}", "arn:aws:s3:::{b}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def _bucket(
    name: str, region: str, owner: str | None, algorithm: str | None, tls_only: bool, kms_key: str | None = None
) -> None:
    s3 = _client("s3", region)
    params: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**params)
    if owner:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "owner", "Value": owner}]})
    if algorithm:
        default: dict[str, str] = {"SSEAlgorithm": algorithm}
        if kms_key:
            default["KMSMasterKeyID"] = kms_key
        s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]}
        )
    if tls_only:
        statement = json.loads(json.dumps(TLS_ONLY).replace("{b}", name))
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))


def seed_encryption(now: datetime) -> dict[str, str]:
    kms = _client("kms")
    cmk = kms.create_key(Description="ml-data", Tags=[{"TagKey": "owner", "TagValue": "data-eng"}])["KeyMetadata"]
    kms.enable_key_rotation(KeyId=cmk["KeyId"])
    stale = kms.create_key(Description="legacy-exports", Tags=[{"TagKey": "owner", "TagValue": "data-eng"}])[
        "KeyMetadata"
    ]
    disabled = kms.create_key(Description="retired")["KeyMetadata"]
    kms.disable_key(KeyId=disabled["KeyId"])

    _bucket("demo-training-data", "us-east-1", "ml-research", "aws:kms", True, cmk["Arn"])
    _bucket("demo-raw-uploads", "us-east-1", "data-eng", "AES256", False)
    _bucket("demo-eu-features", "eu-west-1", "ml-research", None, True)

    _client("ec2", "us-east-1").enable_ebs_encryption_by_default()

    rds = _client("rds")
    for name, encrypted, owner in (("demo-features-db", True, "data-eng"), ("demo-legacy-db", False, "data-eng")):
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="demo",
            MasterUserPassword="demo-password-1",  # noqa: S106
            AllocatedStorage=20,
            StorageEncrypted=encrypted,
            KmsKeyId=cmk["Arn"] if encrypted else "",
            Tags=[{"Key": "owner", "Value": owner}],
        )

    ddb = _client("dynamodb")
    table_args: dict[str, Any] = {
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    ddb.create_table(
        TableName="demo-model-registry",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": cmk["Arn"]},
        Tags=[{"Key": "owner", "Value": "ml-research"}],
        **table_args,
    )
    ddb.create_table(TableName="demo-feature-cache", Tags=[{"Key": "owner", "Value": "ml-research"}], **table_args)

    sm = _client("sagemaker")
    role = "arn:aws:iam::123456789012:role/ml-training"
    sm.create_notebook_instance(
        NotebookInstanceName="demo-research-nb",
        InstanceType="ml.t3.medium",
        RoleArn=role,
        KmsKeyId=cmk["KeyId"],
        Tags=[{"Key": "owner", "Value": "ml-research"}],
    )
    sm.create_notebook_instance(
        NotebookInstanceName="demo-scratch-nb",
        InstanceType="ml.t3.medium",
        RoleArn=role,
        Tags=[{"Key": "owner", "Value": "ml-research"}],
    )
    return {"cmk": cmk["Arn"], "stale": stale["Arn"], "disabled": disabled["Arn"]}


def seed_logging() -> None:
    for region, groups in {
        "us-east-1": (
            ("/demo/inference", 400, "ml-research"),
            ("/demo/training", None, "ml-research"),
            ("/demo/scratch-1", 7, "ml-research"),
        ),
        "eu-west-1": (("/demo/eu-api", 30, "data-eng"),),
    }.items():
        logs = _client("logs", region)
        for name, retention, owner in groups:
            logs.create_log_group(logGroupName=name, tags={"owner": owner})
            if retention:
                logs.put_retention_policy(logGroupName=name, retentionInDays=retention)
    _bucket("demo-cloudtrail-logs", "us-east-1", "security-team", "aws:kms", True)
    ct = _client("cloudtrail")
    ct.create_trail(
        Name="demo-org-trail",
        S3BucketName="demo-cloudtrail-logs",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        TagsList=[{"Key": "owner", "Value": "security-team"}],
    )
    ct.start_logging(Name="demo-org-trail")
    ct.create_trail(
        Name="demo-debug-trail",
        S3BucketName="demo-cloudtrail-logs",
        IsMultiRegionTrail=False,
        EnableLogFileValidation=False,
    )


def seed_registries() -> None:
    """ECR: a serving image repository scanned on push, a training one that is not (the registry has no rules)."""
    ecr = _client("ecr")
    ecr.create_repository(
        repositoryName="demo/churn-serving",
        imageScanningConfiguration={"scanOnPush": True},
        tags=[{"Key": "owner", "Value": "ml-research"}],
    )
    ecr.create_repository(repositoryName="demo/fraud-training", tags=[{"Key": "owner", "Value": "data-eng"}])


def seed_customer_policies() -> None:
    """A scoped customer policy (PASS) and a home-made `*:*` one attached to an empty group (FAIL)."""
    iam = _client("iam")
    scoped = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]}
    read = iam.create_policy(PolicyName="demo-model-reader", PolicyDocument=json.dumps(scoped))["Policy"]["Arn"]
    glass = iam.create_policy(PolicyName="demo-break-glass", PolicyDocument=json.dumps(admin))["Policy"]["Arn"]
    iam.create_group(GroupName="demo-readers")
    iam.attach_group_policy(GroupName="demo-readers", PolicyArn=read)
    iam.create_group(GroupName="demo-break-glass-admins")
    iam.attach_group_policy(GroupName="demo-break-glass-admins", PolicyArn=glass)


def _make_ids_deterministic() -> None:
    """Seed moto's id generator so that KMS key ids (and so finding keys) repeat from one demo to the next."""
    from moto.moto_api._internal import mock_random

    mock_random.seed(2026)


def seed_demo_estate(now: datetime | None = None) -> None:
    """Create the whole demo estate in the AWS that boto3 currently points at (the moto server)."""
    now = now or datetime.now(UTC)
    _make_ids_deterministic()
    seed_iam()
    age_credentials(DEMO_USERS, now)
    _client("iam").create_role(
        RoleName="ml-training",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
        Tags=[{"Key": "owner", "Value": "ml-research"}],
    )
    keys = seed_encryption(now)
    seed_logging()
    seed_registries()
    _client("guardduty", "us-east-1").create_detector(Enable=True)  # eu-west-1 is left unwatched
    seed_customer_policies()
    seed_models(now)
    seed_ai_platform(now, keys)
    seed_perimeter(now, keys)
    seed_recurring_evidence(now)
    block_public_access_as_aws_does()  # last: on every bucket the estate has, but the one left open
