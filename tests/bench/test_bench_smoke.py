"""Smoke test of the benchmark's own parts at N=1: call counting, the estate model, the config it runs.

No timing is asserted (speed is measured by bench/run.py, never by tests), and neither complyflow nor
Prowler is run here: that is the benchmark itself, minutes long.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml

from bench.complyflow_run import make_config
from bench.estate import UNIT, Estate, users
from bench.minimum import minimum_calls
from bench.moto_counter import CallCounter, CountingMotoServer
from bench.prowler_peer import CHECKS
from bench.report import by_operation, calls_table
from complyflow.config import load_config
from complyflow.demo import _free_port


@pytest.fixture
def counted_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, CallCounter]]:
    counter = CallCounter()
    server = CountingMotoServer(_free_port(), counter)
    server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    try:
        yield server.endpoint, counter
    finally:
        server.stop()


def test_counter_names_service_region_and_operation_for_each_protocol(counted_moto: tuple[str, CallCounter]) -> None:
    _endpoint, counter = counted_moto
    counter.phase = "test"
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="bench-smoke")
    s3.list_buckets()
    with pytest.raises(s3.exceptions.ClientError):
        s3.get_bucket_policy(Bucket="bench-smoke")
    boto3.client("iam", region_name="us-east-1").list_users()  # query protocol
    boto3.client("logs", region_name="eu-west-1").describe_log_groups()  # JSON protocol
    calls = counter.calls("test")
    assert calls[("s3", "us-east-1", "CreateBucket")] == 1
    assert calls[("s3", "us-east-1", "ListBuckets")] == 1
    assert calls[("iam", "us-east-1", "ListUsers")] == 1
    assert calls[("logs", "eu-west-1", "DescribeLogGroups")] == 1
    assert counter.errors("test") == {("s3", "us-east-1", "GetBucketPolicy"): 1}
    assert by_operation(calls)["s3:GetBucketPolicy"] == 1
    assert counter.calls("other") == {}


def test_estate_unit_and_minimum_calls_at_n1() -> None:
    estate = Estate(1)
    assert len(users(1)) == UNIT["users"] and estate.per_region("log_groups") == 20
    minimum, tagging = minimum_calls(estate), minimum_calls(estate, tagging_api=True)
    assert minimum["s3:GetBucketEncryption"] == minimum["s3:GetBucketTagging"] == estate.buckets == 21
    assert minimum["logs:DescribeLogGroups"] == 2  # one page of 50 per region
    assert minimum["logs:ListTagsForResource"] == 40 and "logs:ListTagsForResource" not in tagging
    assert tagging["tagging:GetResources"] == 2 and sum(tagging.values()) < sum(minimum.values())
    assert minimum_calls(Estate(3))["logs:DescribeLogGroups"] == 4  # 30 groups a region: still one page each
    assert "TOTAL" in calls_table(by_operation({("s3", "us-east-1", "ListBuckets"): 1}), minimum, tagging)


def test_bench_config_runs_exactly_the_controls_mapped_to_prowler_checks(tmp_path: Path) -> None:
    config = load_config(make_config(tmp_path / "configs"))
    assert config.scope.regions == ["us-east-1", "eu-west-1"]
    assert {c.id for c in config.enabled_controls} == set(CHECKS)
    assert len(CHECKS) == 18
    scope = yaml.safe_load((tmp_path / "configs" / "scope.yaml").read_text())
    assert "id" not in scope["accounts"][0]  # the run discovers the account, as a user's first run does
