"""Assumed-role credentials outlive their role session: botocore refreshes them with the same AssumeRole.

moto issues role credentials for AWS's default hour but never expires them; `role_sessions` adds what
AWS does: a request signed with an issued key after its Expiration is refused with ExpiredToken. The
clock is moved with time-machine (moto, botocore's refresh windows and that check all read it), so a
run can outlast the role session in milliseconds, with botocore's real refresh windows (15 and 10
minutes before expiry).
"""

from __future__ import annotations

import json
import pickle
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.handlers
import cloudpickle
import pytest
import time_machine
from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from moto import mock_aws

from complyflow.core.config import AccountScope
from tasks.aws import SESSION_NAME, AccountSession, error_code, open_account
from tasks.collect import TABLE_SOURCES, run_collector
from tests.support.faults import denied

SECOND = "222222222222"
ROLE = f"arn:aws:iam::{SECOND}:role/complyflow-read-only"
EXTERNAL_ID = "ext-123"
ACCOUNT = AccountScope(name="second", role_arn=ROLE, external_id=EXTERNAL_ID, owner="second-team")
KEYS = 3  # more than one, so the KMS collector asks for them from its worker threads (one per key)
SAME_CALL = {"RoleArn": ROLE, "RoleSessionName": SESSION_NAME, "ExternalId": EXTERNAL_ID}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Emulated AWS without IAM's managed policies: nothing here reads them, and loading them costs seconds."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    with mock_aws():
        yield


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """A clock that ticks, and that a test can move forward."""
    with time_machine.travel(datetime.now(UTC), tick=True) as traveller:
        yield traveller


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


@dataclass
class RoleSessions:
    """What STS was asked and issued, and what AWS refused."""

    assume_role: list[dict[str, Any]] = field(default_factory=list)  # the parameters of each AssumeRole
    expiry: dict[str, datetime] = field(default_factory=dict)  # issued access key id -> its Expiration
    refused: list[str] = field(default_factory=list)  # requests refused with ExpiredToken

    def last_expiry(self) -> datetime:
        return max(self.expiry.values())


def _access_key(request: Any) -> str:
    auth = request.headers.get("Authorization") or b""
    auth = auth.decode() if isinstance(auth, bytes) else auth
    return auth.partition("Credential=")[2].split("/", 1)[0]


@contextmanager
def role_sessions() -> Iterator[RoleSessions]:
    """Record every AssumeRole, and refuse requests signed with role credentials past their Expiration."""
    seen = RoleSessions()
    lock = threading.Lock()
    original = BaseClient._make_api_call

    def recording(self: BaseClient, name: str, params: dict) -> Any:
        response = original(self, name, params)
        if name == "AssumeRole":
            with lock:
                seen.assume_role.append(dict(params))
                seen.expiry[response["Credentials"]["AccessKeyId"]] = response["Credentials"]["Expiration"]
        return response

    def expired_token(request: Any, **_: Any) -> Any:
        with lock:
            expiry = seen.expiry.get(_access_key(request))
        if expiry is None or datetime.now(UTC) < expiry:
            return None  # ambient credentials, or a live role session: the emulated service answers
        seen.refused.append(request.url)
        body = {"__type": "ExpiredTokenException", "message": "The security token included in the request is expired"}
        headers = {"Content-Type": "application/x-amz-json-1.1"}
        return AWSResponse(request.url, 400, headers, _Body(json.dumps(body).encode()))

    BaseClient._make_api_call = recording  # type: ignore[method-assign]
    entry = ("before-send", expired_token)  # ahead of moto's own before-send handler
    botocore.handlers.BUILTIN_HANDLERS.insert(0, entry)
    try:
        yield seen
    finally:
        botocore.handlers.BUILTIN_HANDLERS.remove(entry)
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def _seed_keys() -> None:
    creds = boto3.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="seed")["Credentials"]
    kms = boto3.client(
        "kms",
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    for i in range(KEYS):
        kms.create_key(Description=f"key-{i}")


def _collect_keys(account: AccountSession) -> tuple[int, list[Any]]:
    """(rows, gaps) of the KMS collector in the account, as one collect task of a run computes them."""
    result = run_collector(TABLE_SOURCES["kms_keys"], account, "us-east-1", datetime.now(UTC))
    return len(result.tables["kms_keys"]), result.gaps


def _move_to(clock: time_machine.Coordinates, when: datetime) -> None:
    clock.shift(when - datetime.now(UTC))


@pytest.mark.usefixtures("aws")
def test_collection_outlives_the_role_session(clock: time_machine.Coordinates) -> None:
    _seed_keys()
    with role_sessions() as sts:
        account = open_account(ACCOUNT, "us-east-1")
        assert account.account_id == SECOND
        assert len(sts.assume_role) == 1  # the first AssumeRole is made when the account is opened
        first = sts.last_expiry()
        assert first - datetime.now(UTC) > timedelta(minutes=55)  # AWS's default role session: 1 hour

        assert _collect_keys(account) == (KEYS, [])  # builds and caches the account's clients
        assert len(sts.assume_role) == 1

        # 14 minutes left: botocore's advisory window. One worker thread refreshes, the others go on
        # with the old credentials, still valid.
        _move_to(clock, first - timedelta(minutes=14))
        assert _collect_keys(account) == (KEYS, [])
        assert len(sts.assume_role) == 2

        # Past the end of every session issued so far: all the worker threads of the collector need new
        # credentials at once; one AssumeRole serves them all.
        _move_to(clock, sts.last_expiry() + timedelta(minutes=1))
        assert _collect_keys(account) == (KEYS, [])
        assert len(sts.assume_role) == 3

    assert sts.refused == []  # no request was ever signed with expired credentials
    # The same role, session name and external id every time; the role's default duration.
    assert sts.assume_role == [SAME_CALL] * 3


@pytest.mark.usefixtures("aws")
def test_without_an_external_id_none_is_sent_on_refresh(clock: time_machine.Coordinates) -> None:
    _seed_keys()
    with role_sessions() as sts:
        account = open_account(AccountScope(name="second", id=SECOND, role_arn=ROLE), "us-east-1")
        _move_to(clock, sts.last_expiry() + timedelta(minutes=1))
        assert _collect_keys(account) == (KEYS, [])
    assert sts.refused == []
    assert sts.assume_role == [{"RoleArn": ROLE, "RoleSessionName": SESSION_NAME}] * 2


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("pickler", [pickle, cloudpickle], ids=["pickle", "cloudpickle"])
def test_a_pickled_account_session_works_and_refreshes_itself(clock: time_machine.Coordinates, pickler: Any) -> None:
    """Prefect's thread pool passes sessions as they are; a process-based task runner would cloudpickle them."""
    _seed_keys()
    with role_sessions() as sts:
        account = open_account(ACCOUNT, "us-east-1")
        account.client("kms", "us-east-1")  # a cached client does not stop the session from pickling
        copy = pickle.loads(pickler.dumps(account))  # noqa: S301 - our own bytes, round-tripped
        assert (copy.account_id, copy.name, copy.owner) == (SECOND, "second", "second-team")
        assert _collect_keys(copy) == (KEYS, [])
        assert len(sts.assume_role) == 1  # the copy carries the live credentials: no second AssumeRole

        _move_to(clock, sts.last_expiry() + timedelta(minutes=1))
        assert _collect_keys(copy) == (KEYS, [])
    assert sts.refused == []
    assert sts.assume_role == [SAME_CALL] * 2


@pytest.mark.usefixtures("aws")
def test_a_denied_role_fails_when_the_account_is_opened() -> None:
    with role_sessions() as sts, denied("AssumeRole"), pytest.raises(ClientError) as raised:
        open_account(ACCOUNT, "us-east-1")
    assert (raised.value.operation_name, error_code(raised.value)) == ("AssumeRole", "AccessDenied")
    assert sts.assume_role == []


@pytest.mark.usefixtures("aws")
def test_a_role_denied_at_refresh_is_an_evidence_gap(clock: time_machine.Coordinates) -> None:
    """The trust policy changed mid-run: the refused AssumeRole is recorded as a gap, never expired calls."""
    _seed_keys()
    with role_sessions() as sts:
        account = open_account(ACCOUNT, "us-east-1")
        _move_to(clock, sts.last_expiry() + timedelta(minutes=1))
        with denied("AssumeRole"):
            rows, gaps = _collect_keys(account)
    assert sts.refused == []
    assert rows == 0
    assert gaps
    assert {(gap.operation, gap.error_code) for gap in gaps} == {("AssumeRole", "AccessDenied")}


@pytest.mark.usefixtures("aws")
def test_every_account_session_reads_service_models_through_one_loader() -> None:
    """Service models are parsed once per process, not once per account session (megabytes of JSON each)."""
    ambient = open_account(AccountScope(name="main"), "us-east-1")
    role = open_account(
        AccountScope(name="other", role_arn="arn:aws:iam::222222222222:role/complyflow-read-only"), "us-east-1"
    )
    loaders = {id(s.session._session.get_component("data_loader")) for s in (ambient, role)}
    assert len(loaders) == 1
    # Clients and boto3's own data still work through the shared loader.
    assert role.session.client("s3", region_name="eu-west-1").list_buckets()["Buckets"] == []
    assert "s3" in role.session.get_available_resources()
