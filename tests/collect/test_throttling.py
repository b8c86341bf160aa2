"""Throttling is honoured by botocore's adaptive retries: a throttled call is retried and its verdict kept;
a call still throttled after every attempt is an evidence gap (ERROR), never a PASS."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config as BotoConfig

import tasks.aws
from tests.support.evaluate import collect, evaluate
from tests.support.faults import throttled

pytestmark = pytest.mark.usefixtures("aws")


def _keys() -> None:
    kms = boto3.client("kms")
    rotated = kms.create_key(Description="rotated")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=rotated)
    kms.create_key(Description="not-rotated")


def test_a_throttled_call_is_retried_and_its_answer_used() -> None:
    _keys()
    with throttled("kms", "GetKeyRotationStatus", times=2) as attempts:
        result = collect("kms_keys")
    assert result.gaps == []
    assert len(attempts) == 4  # two keys; one of them needed two retries
    verdicts = {f.resource_name: str(f.status) for f in evaluate("kms-key-rotation", result=result)}
    assert verdicts == {"rotated": "PASS", "not-rotated": "FAIL"}


@pytest.fixture
def one_retry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Clients built with a single retry, dropped again afterwards so no later test inherits them."""
    monkeypatch.setattr(
        tasks.aws,
        "RETRY_CONFIG",
        tasks.aws.RETRY_CONFIG.merge(BotoConfig(retries={"mode": "adaptive", "max_attempts": 1})),
    )
    tasks.aws._clients.clear()
    yield
    tasks.aws._clients.clear()


@pytest.mark.usefixtures("one_retry")
def test_throttling_that_outlasts_the_retries_is_an_evidence_gap() -> None:
    _keys()
    with throttled("kms", "GetKeyRotationStatus", times=1000) as attempts:
        result = collect("kms_keys")
    assert len(attempts) == 4  # the call and its one retry, for each key; then it gives up
    assert {(g.operation, g.error_code) for g in result.gaps} == {("GetKeyRotationStatus", "ThrottlingException")}
    assert {str(f.status) for f in evaluate("kms-key-rotation", result=result)} == {"ERROR"}


def test_the_shipped_retry_settings_are_adaptive_and_bounded() -> None:
    assert tasks.aws.RETRY_CONFIG.retries["mode"] == "adaptive"
    assert tasks.aws.RETRY_CONFIG.retries["total_max_attempts"] == 11  # the first call and ten retries
    assert tasks.aws.RETRY_CONFIG.max_pool_connections >= 8  # the per-collector pool never waits for a socket
