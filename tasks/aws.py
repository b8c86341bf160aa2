"""boto3 sessions and clients: assume-role per account, adaptive retries, bounded pools.

`AWS_ENDPOINT_URL` (and the per-service variants) are honoured by boto3 itself, so the same code
runs against real AWS and against an emulator without any special case here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from complyflow.core.config import AccountScope

#: Adaptive mode rate-limits the client itself when AWS throttles, so it stays safe on real estates.
RETRY_CONFIG = BotoConfig(
    retries={"mode": "adaptive", "max_attempts": 10},
    max_pool_connections=16,
    connect_timeout=10,
    read_timeout=60,
    user_agent_appid="complyflow",
)

SESSION_NAME = "complyflow-collector"

#: What one AWS call can raise: an answer with an error, or no answer (timeout, connection, retries spent).
AWS_ERRORS = (ClientError, BotoCoreError)


@dataclass(frozen=True, slots=True)
class AccountSession:
    """Credentials for one account in scope, resolved once per run."""

    account_id: str
    name: str
    owner: str | None
    session: boto3.Session

    def client(self, service: str, region: str) -> Any:
        return _client(self.session, service, region)


#: (id(session), service, region) -> (session, client); holding the session keeps its id from being reused.
_clients: dict[tuple[int, str, str], tuple[boto3.Session, Any]] = {}
_lock = threading.Lock()


def _client(session: boto3.Session, service: str, region: str) -> Any:
    """One cached client per (session, service, region): clients are thread-safe and costly to build."""
    key = (id(session), service, region)
    with _lock:
        cached = _clients.get(key)
        if cached is None:
            cached = (session, session.client(service, region_name=region, config=RETRY_CONFIG))
            _clients[key] = cached
        return cached[1]


def open_account(account: AccountScope, home_region: str) -> AccountSession:
    """Ambient credentials, or STS AssumeRole (with external id) when the account names a role."""
    base = boto3.Session()
    if account.role_arn:
        sts = base.client("sts", region_name=home_region, config=RETRY_CONFIG)
        params: dict[str, Any] = {"RoleArn": account.role_arn, "RoleSessionName": SESSION_NAME}
        if account.external_id:
            params["ExternalId"] = account.external_id
        creds = sts.assume_role(**params)["Credentials"]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    else:
        session = base
    account_id = account.id
    if account_id is None:
        sts = session.client("sts", region_name=home_region, config=RETRY_CONFIG)
        account_id = sts.get_caller_identity()["Account"]
    return AccountSession(account_id=account_id, name=account.name, owner=account.owner, session=session)


def error_code(exc: Exception) -> str:
    """A short, secret-free code for an AWS failure, for evidence gaps."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__
    return type(exc).__name__


def error_message(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message", ""))[:500]
    return str(exc)[:500]


def paginate(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    """All items of a paginated list call."""
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**params):
        items.extend(page.get(key, []))
    return items
