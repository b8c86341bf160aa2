"""The benchmark estate: a fixed unit of resources, repeated N times, in two regions.

One unit is 20 IAM users with access keys, 20 buckets, 40 log groups, 20 KMS keys, 10 RDS instances,
10 DynamoDB tables and 10 notebook instances, split evenly over the two regions (IAM is global). Every
kind mixes compliant and violating settings by index, so each control finds both PASS and FAIL rows.
A fixed account-wide part (two trails and their bucket, one SageMaker role, EBS defaults) is added once.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from complyflow.demo import TLS_ONLY, UserSpec, age_credentials, seed_iam

REGIONS = ("us-east-1", "eu-west-1")
UNIT = {"users": 20, "buckets": 20, "log_groups": 40, "kms_keys": 20, "rds": 10, "dynamodb": 10, "notebooks": 10}
LOG_RETENTIONS = (None, 7, 30, 365, 400, 3653)  # None: never expire
TRAIL_BUCKET = "bench-cloudtrail-logs"
ROLE_ARN = "arn:aws:iam::123456789012:role/bench-sagemaker"
SEED_THREADS = 4


@dataclass(frozen=True)
class Estate:
    """How many resources of each kind the benchmark creates; the minimum-call model reads it too."""

    scale: int

    def count(self, kind: str) -> int:
        return UNIT[kind] * self.scale

    def per_region(self, kind: str) -> int:
        return self.count(kind) // len(REGIONS)

    @property
    def buckets(self) -> int:
        return self.count("buckets") + 1  # plus the trail bucket

    @property
    def iam_users(self) -> int:
        return self.count("users")

    @property
    def iam_roles(self) -> int:
        return 1

    @property
    def access_keys(self) -> int:
        return sum(len(u.keys) for u in users(self.scale))

    @property
    def customer_keys_rotatable(self) -> int:
        """Customer-managed symmetric keys that are enabled or disabled (all of the benchmark's keys)."""
        return self.count("kms_keys")

    @property
    def aws_managed_keys_per_region(self) -> int:
        """aws/dynamodb, which KMS creates for the tables encrypted with SSEType KMS and no key of ours."""
        return 1

    @property
    def trails(self) -> int:
        return 2

    @property
    def resources(self) -> int:
        """Resources the 18 controls judge (users, keys, buckets, …) plus the per-region account settings."""
        return (
            self.iam_users
            + self.access_keys
            + 1
            + self.buckets
            + self.count("log_groups")
            + self.count("kms_keys")
            + self.count("rds")
            + self.count("dynamodb")
            + self.count("notebooks")
            + self.trails
            + 2 * len(REGIONS)
        )


def users(scale: int) -> tuple[UserSpec, ...]:
    """20 users per unit: console with and without MFA, fresh, old and unused keys, a few admins."""
    specs = []
    for unit in range(scale):
        for i in range(UNIT["users"]):
            console = i % 2 == 0
            age = (20, 60, 120, 200)[i % 4]
            unused = (1, None, 30, 120, 5)[i % 5]
            keys: tuple[tuple[str, int, int | None], ...] = (("Active", age, unused),)
            if i % 7 == 0:
                keys += (("Inactive", 300, 250),)
            specs.append(
                UserSpec(
                    f"bench-u{unit:03d}-{i:02d}",
                    ("ml-research", "data-eng", None)[i % 3],
                    console=console,
                    mfa=console and i % 4 != 2,
                    password_unused_days=(3, 100, None)[i % 3] if console else None,
                    keys=keys,
                    admin=i % 10 == 3,
                )
            )
    return tuple(specs)


#: moto creates the aws/dynamodb key on the first KMS-encrypted table of a region, without a lock: tables
#: created concurrently would leave a varying number of such keys, and the estate would differ run to run.
_tables_lock = threading.Lock()
_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


def _client(service: str, region: str = "us-east-1") -> Any:
    """One client per (service, region): building a client costs more than a moto call."""
    with _clients_lock:
        if (service, region) not in _clients:
            _clients[(service, region)] = boto3.client(service, region_name=region)
        return _clients[(service, region)]


def _owner_tag(i: int) -> str | None:
    return ("ml-research", "data-eng", "platform-team", None)[i % 4]


def _seed_bucket(name: str, region: str, i: int, kms_arn: str) -> None:
    s3 = _client("s3", region)
    params: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**params)
    owner = _owner_tag(i)
    if owner:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "owner", "Value": owner}]})
    algorithm = (None, "AES256", "aws:kms", "aws:kms")[i % 4]
    if algorithm:
        default = {"SSEAlgorithm": algorithm, **({"KMSMasterKeyID": kms_arn} if i % 4 == 3 else {})}
        s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]}
        )
    if i % 2 == 0:
        statement = json.loads(json.dumps(TLS_ONLY).replace("{b}", name))
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))


def _seed_kms(region: str, unit: int, count: int) -> list[str]:
    kms = _client("kms", region)
    arns = []
    for i in range(count):
        tags = [{"TagKey": "owner", "TagValue": o} for o in [_owner_tag(i)] if o]
        meta = kms.create_key(Description=f"bench-{unit}-{i}", Tags=tags)["KeyMetadata"]
        if i % 2 == 0:
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        if i % 10 == 9:
            kms.disable_key(KeyId=meta["KeyId"])
        arns.append(meta["Arn"])
    return arns


def _seed_logs(region: str, unit: int, count: int) -> None:
    logs = _client("logs", region)
    for i in range(count):
        name = f"/bench/{unit:03d}/group-{i:02d}"
        owner = _owner_tag(i)
        logs.create_log_group(logGroupName=name, **({"tags": {"owner": owner}} if owner else {}))
        retention = LOG_RETENTIONS[i % len(LOG_RETENTIONS)]
        if retention:
            logs.put_retention_policy(logGroupName=name, retentionInDays=retention)


def _seed_databases(region: str, unit: int, count: int, kms_arn: str) -> None:
    rds, ddb, sm = _client("rds", region), _client("dynamodb", region), _client("sagemaker", region)
    for i in range(count):
        tags = [{"Key": "owner", "Value": o} for o in [_owner_tag(i)] if o]
        encrypted = i % 2 == 0
        rds.create_db_instance(
            DBInstanceIdentifier=f"bench-{unit}-db-{i}",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="bench",
            MasterUserPassword="bench-password-1",  # noqa: S106 - moto only
            AllocatedStorage=20,
            StorageEncrypted=encrypted,
            KmsKeyId=kms_arn if encrypted else "",
            Tags=tags,
        )
        sse = (
            {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_arn},
            {"Enabled": True, "SSEType": "KMS"},
            None,
        )[i % 3]
        with _tables_lock:
            ddb.create_table(
                TableName=f"bench-{unit}-table-{i}",
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                Tags=tags,
                **({"SSESpecification": sse} if sse else {}),
            )
        sm.create_notebook_instance(
            NotebookInstanceName=f"bench-{unit}-nb-{i}",
            InstanceType="ml.t3.medium",
            RoleArn=ROLE_ARN,
            Tags=tags,
            **({"KmsKeyId": kms_arn} if i % 2 == 0 else {}),
        )


def _seed_account() -> None:
    """The fixed part: trails, their bucket, the notebooks' role, EBS default encryption in one region."""
    _client("iam").create_role(
        RoleName="bench-sagemaker",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )
    _seed_bucket(TRAIL_BUCKET, "us-east-1", 2, "")
    _client("ec2", "us-east-1").enable_ebs_encryption_by_default()
    home = _client("cloudtrail", "us-east-1")
    home.create_trail(
        Name="bench-org-trail", S3BucketName=TRAIL_BUCKET, IsMultiRegionTrail=True, EnableLogFileValidation=True
    )
    home.start_logging(Name="bench-org-trail")
    _client("cloudtrail", "eu-west-1").create_trail(
        Name="bench-debug-trail", S3BucketName=TRAIL_BUCKET, IsMultiRegionTrail=False, EnableLogFileValidation=False
    )


def _seed_unit(estate: Estate, unit: int) -> None:
    for r, region in enumerate(REGIONS):
        kms_arns = _seed_kms(region, unit, UNIT["kms_keys"] // len(REGIONS))
        for i in range(UNIT["buckets"] // len(REGIONS)):
            index = r * UNIT["buckets"] // len(REGIONS) + i
            _seed_bucket(f"bench-{unit:03d}-{index:02d}-{region}", region, index, kms_arns[0])
        _seed_logs(region, unit, UNIT["log_groups"] // len(REGIONS))
        _seed_databases(region, unit, UNIT["rds"] // len(REGIONS), kms_arns[0])


def seed(estate: Estate, now: datetime | None = None) -> None:
    """Create the estate in the AWS boto3 points at (the bench's moto server), then age the credentials."""
    # Whole seconds, as AWS reports them (Prowler parses PasswordLastUsed with a format without microseconds).
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    specs = users(estate.scale)
    _seed_account()
    with ThreadPoolExecutor(SEED_THREADS) as pool:
        batches = [specs[i : i + UNIT["users"]] for i in range(0, len(specs), UNIT["users"])]
        futures = [pool.submit(seed_iam, batch) for batch in batches]
        futures += [pool.submit(_seed_unit, estate, unit) for unit in range(estate.scale)]
        for future in futures:
            future.result()
    age_credentials(specs, now)
