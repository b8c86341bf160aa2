"""boto3 sessions and clients: assume-role per account, adaptive retries, bounded pools.

`AWS_ENDPOINT_URL` (and the per-service variants) are honoured by boto3 itself, so the same code
runs against real AWS and against an emulator. One rule of botocore's does not fit an endpoint given as an
address: S3 Control puts the account id in front of the host (`unprefix_ip_endpoint` says why and when
it is dropped); it depends on the host's form, never on what answers there.

Assumed-role credentials refresh themselves (botocore `RefreshableCredentials`): an account run may
outlast the role session (1 hour by default) without every later call failing with ExpiredToken.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
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
    """Credentials for one account in scope, opened once per run (assumed-role ones refresh themselves)."""

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
            client = session.client(service, region_name=region, config=RETRY_CONFIG)
            if service == "s3control":
                client.meta.events.register("before-call.s3-control", unprefix_ip_endpoint)
            cached = (session, client)
            _clients[key] = cached
        return cached[1]


def _is_address(host: str) -> bool:
    """An IP literal (v4, or v6 in brackets) or a `localhost` name: hosts no DNS label can be put in front of."""
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def unprefix_ip_endpoint(params: dict[str, Any], **_: Any) -> None:
    """Undo the `{AccountId}.` label S3 Control puts in front of a custom endpoint that is an address.

    botocore's s3control endpoint ruleset turns `endpoint_url` into `{scheme}://{AccountId}.{authority}`
    for every operation with `RequiresAccountId` (GetPublicAccessBlock, …), whatever the host is. On AWS,
    and on a DNS-named endpoint (PrivateLink's `control.vpce-….s3.<region>.vpce.amazonaws.com`), that
    label is resolved by wildcard DNS; in front of an IP address or `localhost` (an emulator, a proxy by
    address) it names no host at all. The account id also travels in the signed `x-amz-account-id`
    header, so for such hosts the label is dropped here, before the request is built and signed.
    """
    parts = urlsplit(params["url"])
    label, dot, rest = parts.netloc.partition(".")
    host = rest.rsplit(":", 1)[0] if not rest.endswith("]") else rest
    if dot and len(label) == 12 and label.isdigit() and _is_address(host):
        params["url"] = urlunsplit(parts._replace(netloc=rest))


class _AssumeRole:
    """The refresh function of one account's role credentials: the same AssumeRole call every time.

    Same RoleSessionName and ExternalId on every refresh (CloudTrail and the role's trust policy see one
    caller); DurationSeconds is left to the role's default. Called only under the lock of its
    `RefreshableCredentials` (or once in `open_account`), so two refreshes never share its STS client.
    Picklable: the STS client (ambient credentials, home region, RETRY_CONFIG) is rebuilt, never pickled.
    """

    def __init__(self, role_arn: str, external_id: str | None, region: str) -> None:
        self.region = region
        self.params: dict[str, str] = {"RoleArn": role_arn, "RoleSessionName": SESSION_NAME}
        if external_id:
            self.params["ExternalId"] = external_id
        #: the credentials last issued, i.e. the ones in use: what a pickled session carries
        self.latest: dict[str, str] = {}
        self._sts = self._client()

    def _client(self) -> Any:
        return boto3.Session().client("sts", region_name=self.region, config=RETRY_CONFIG)

    def __call__(self) -> dict[str, str]:
        creds = self._sts.assume_role(**self.params)["Credentials"]
        self.latest = {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),  # botocore parses it into a datetime
        }
        return self.latest

    def __getstate__(self) -> dict[str, Any]:
        return {"region": self.region, "params": self.params, "latest": self.latest}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._sts = self._client()


class _RoleProvider(CredentialProvider):
    """Hands one credentials object to a botocore session through its public credential-provider component."""

    METHOD = "sts-assume-role"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


class _RoleSession(boto3.Session):
    """A boto3 session whose only credentials are an assumed role's, refreshed by botocore before they expire.

    Every client of the session (the cached ones included) signs each request with the current
    credentials; `RefreshableCredentials` locks the refresh, so worker threads refresh once, not each.
    Pickles (plain or cloudpickle) as its refresh function and current credentials: the copy works at
    once, without another AssumeRole, and refreshes itself with the same parameters.
    """

    def __init__(self, refresh: _AssumeRole, metadata: dict[str, str]) -> None:
        credentials = RefreshableCredentials.create_from_metadata(
            metadata=metadata, refresh_using=refresh, method=_RoleProvider.METHOD
        )
        core = botocore.session.get_session()
        # The role's credentials only: ambient credentials can never stand in for them.
        core.register_component("credential_provider", CredentialResolver([_RoleProvider(credentials)]))
        super().__init__(botocore_session=core)
        self._refresh = refresh

    def __reduce__(self) -> tuple[Any, ...]:
        return (_RoleSession, (self._refresh, self._refresh.latest))


_SHARED_LOADER: botocore.loaders.Loader | None = None


def _sharing_models(session: boto3.Session) -> boto3.Session:
    """Give the session the process's one botocore data loader.

    Each botocore session otherwise parses the service models and endpoint rules (megabytes of JSON) again
    for every service it makes a client of: once per account, per process. The models are read-only data, so
    one loader (with its cache) serves every session; `AWS_DATA_PATH` is read when it is first made.
    """
    global _SHARED_LOADER  # noqa: PLW0603 - one cache per process, made on first use
    if _SHARED_LOADER is None:
        _SHARED_LOADER = botocore.loaders.create_loader(os.environ.get("AWS_DATA_PATH"))
        _SHARED_LOADER.search_paths.append(os.path.join(os.path.dirname(boto3.__file__), "data"))  # as boto3 does
    session._session.register_component("data_loader", _SHARED_LOADER)  # noqa: SLF001 - botocore's documented component
    session._loader = _SHARED_LOADER  # noqa: SLF001 - boto3's resource models read through the same loader
    return session


def open_account(account: AccountScope, home_region: str) -> AccountSession:
    """Ambient credentials, or STS AssumeRole (with external id) when the account names a role.

    The first AssumeRole is made here, so a role that cannot be assumed fails the account at once (an
    evidence gap per collector); later ones are made by botocore as the credentials near expiry.
    """
    if account.role_arn:
        refresh = _AssumeRole(account.role_arn, account.external_id, home_region)
        session: boto3.Session = _sharing_models(_RoleSession(refresh, refresh()))
    else:
        session = _sharing_models(boto3.Session())
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
