"""Record every AWS API call a piece of code makes, as IAM actions, to check the shipped policy."""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.client import BaseClient

#: API operations whose IAM action is not `<service>:<OperationName>`.
ACTION_OVERRIDES = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("tagging", "GetResources"): "tag:GetResources",
}
#: Operations whose IAM action depends on the client, not only the signing name (both sign as "s3").
SERVICE_OVERRIDES = {
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
}
#: Services whose IAM actions are the HTTP verb of the call (apigateway:GET on the resource path).
HTTP_VERB_SERVICES = {"apigateway"}
#: Calls that need no IAM permission.
UNAUTHORISED_OK = {("sts", "GetCallerIdentity")}


def iam_action(client: BaseClient, operation: str) -> str | None:
    prefix = client.meta.service_model.signing_name
    if (prefix, operation) in UNAUTHORISED_OK:
        return None
    service = client.meta.service_model.service_name
    if (service, operation) in SERVICE_OVERRIDES:
        return SERVICE_OVERRIDES[(service, operation)]
    if prefix in HTTP_VERB_SERVICES:
        return f"{prefix}:{client.meta.service_model.operation_model(operation).http['method']}"
    return ACTION_OVERRIDES.get((prefix, operation), f"{prefix}:{operation}")


@contextmanager
def recorded_calls() -> Iterator[list[tuple[str, str, str | None]]]:
    """Every API call made inside the block, as (boto3 service, operation, IAM action or None)."""
    original = BaseClient._make_api_call
    calls: list[tuple[str, str, str | None]] = []
    lock = threading.Lock()

    def recording(self: BaseClient, name: str, params: dict) -> Any:
        with lock:
            calls.append((self.meta.service_model.service_name, name, iam_action(self, name)))
        return original(self, name, params)

    BaseClient._make_api_call = recording  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


@contextmanager
def recorded_actions() -> Iterator[list[str]]:
    """Every IAM action the block's API calls need (calls that need none are left out)."""
    with recorded_calls() as calls:
        actions: list[str] = []
        try:
            yield actions
        finally:
            actions[:] = [action for _, _, action in calls if action]


def allowed_actions(policy: dict[str, Any]) -> list[str]:
    patterns: list[str] = []
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        patterns += [actions] if isinstance(actions, str) else actions
    return patterns


def is_allowed(action: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)
