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

from bench.complyflow_run import REPO, NightlyRun, make_config
from bench.estate import UNIT, Estate, users
from bench.imports import module_level_imports
from bench.minimum import minimum_calls
from bench.moto_counter import CallCounter, CountingMotoServer
from bench.process import Measured
from bench.prowler_peer import CHECKS
from bench.report import by_operation, calls_table
from complyflow.core.config import load_config
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
    assert len(CHECKS) == 19
    scope = yaml.safe_load((tmp_path / "configs" / "scope.yaml").read_text())
    assert "id" not in scope["accounts"][0]  # the run discovers the account, as a user's first run does


def test_start_up_imports_split_into_libraries_prefect_and_none_of_our_own() -> None:
    libraries, prefect_modules = module_level_imports(REPO)
    assert {"great_expectations", "pandas", "boto3", "slack_sdk", "yaml", "scipy"} <= set(libraries)
    assert not {"moto", "json", "complyflow", "flows", "tasks", "prefect"} & set(libraries)  # moto: in functions
    assert "prefect" in prefect_modules and all(m.split(".")[0] == "prefect" for m in prefect_modules)
    assert "prefect.deployments.runner" not in prefect_modules  # only `complyflow serve` loads it


def _run(marks: dict[str, float], timings: dict[str, float]) -> NightlyRun:
    measured = Measured(
        returncode=0,
        started=0.0,
        wall=20.0,
        peak_rss_mb=1.0,
        peak_tree_rss_mb=1.0,
        cpu_seconds=1.0,
        load_avg=0.0,
        rss_samples=[],
        stdout="",
        stderr="",
    )
    return NightlyRun(measured, {"marks": marks, "result": {"timings": timings}})


def test_prefect_is_charged_its_import_start_end_shutdown_and_artifacts_not_complyflow_work() -> None:
    timings = {"collect": 6.0, "validate": 3.0, "artifacts": 0.5}
    marks = {
        "shim_start": 0.1,
        "libraries_imported": 3.1,
        "prefect_imported": 4.1,
        "imported": 4.6,
        "config_checked": 4.8,
        "flow_body_start": 5.5,
        "flow_body_end": 15.5,
        "flow_returned": 16.0,
        "printed": 16.5,
        "atexit_done": 16.7,
    }
    cli = _run(marks, timings)
    parts = cli.breakdown()
    assert parts["config check (CLI)"] == pytest.approx(0.2)
    assert parts["print the result (CLI)"] == pytest.approx(0.5)
    # import 1.0 + flow-run start 0.7 + final state 0.5 + shutdown 0.2 + artifacts 0.5
    assert cli.prefect_seconds() == pytest.approx(2.9)
    assert parts["exit: interpreter teardown"] == pytest.approx(20.0 - 16.7)
    engine = {k: v for k, v in marks.items() if k not in ("config_checked", "printed")}
    assert _run(engine, timings).prefect_seconds() == pytest.approx(1.0 + 0.9 + 0.5 + 0.7 + 0.5)
    assert _run({**marks, "flow_body_start": 5.5}, {}).breakdown()["flow body not in steps"] == pytest.approx(10.0)
