"""`complyflow serve` on a real Prefect server: the configured schedules, and a triggered run that completes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from complyflow.core.deploy_config import load_deployments_config
from flows.pre_audit import AUDIT_PACK_KEY
from tests.integration.stack import LocalPrefect
from tests.integration.test_deployments import _client, _trigger, _wait

SERVED = ("nightly-compliance", "pre-audit")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalPrefect, Path]]:
    prefect = LocalPrefect(home=tmp_path_factory.mktemp("serve-home"))
    evidence = tmp_path_factory.mktemp("serve") / "evidence"
    complyflow = shutil.which("complyflow")
    assert complyflow, "the complyflow command is not installed: pip install -e ."
    try:
        prefect.start_server()
        prefect.spawn(
            "serve",
            [complyflow, "serve", "--demo-estate", *(a for n in SERVED for a in ("--only", n))],
            {"COMPLYFLOW_EVIDENCE_DIR": str(evidence)},
        )
        deadline = time.monotonic() + 300
        while True:
            with _client(prefect) as client:
                found = {d.name for d in client.read_deployments()}
            if set(SERVED) <= found:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"complyflow serve did not register {SERVED}:\n{prefect.log('serve')}")
            time.sleep(2)
        yield prefect, evidence
    finally:
        prefect.stop()


def test_served_deployments_carry_the_configured_schedule(served: tuple[LocalPrefect, Path]) -> None:
    prefect, _ = served
    spec = load_deployments_config().deployments["nightly-compliance"].schedule
    assert spec is not None
    with _client(prefect) as client:
        nightly = client.read_deployment_by_name("nightly-compliance/nightly-compliance")
        pre_audit = client.read_deployment_by_name("pre-audit/pre-audit")
    assert [(s.schedule.cron, s.schedule.timezone, s.active) for s in nightly.schedules] == [
        (spec.cron, spec.timezone, True)
    ]
    assert pre_audit.schedules == []
    assert nightly.work_pool_name is None  # served by the process itself, no work pool


def test_a_triggered_run_completes_in_the_serving_process(served: tuple[LocalPrefect, Path]) -> None:
    prefect, evidence = served
    run_id = _trigger(prefect, "pre-audit", {"controls": ["s3-bucket-default-encryption"]})
    run = _wait(prefect, {"pre-audit": run_id})["pre-audit"]
    assert run.state.is_completed(), prefect.log("serve")
    with _client(prefect) as client:
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        keys = {a.key for a in client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))}
    assert AUDIT_PACK_KEY in keys
    assert len(list((evidence / "audit-packs").glob("*.zip"))) == 1


def test_demo_estate_serves_a_seeded_estate_until_terminated() -> None:
    complyflow = shutil.which("complyflow")
    assert complyflow, "the complyflow command is not installed: pip install -e ."
    process = subprocess.Popen(
        [complyflow, "demo-estate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 180
        while not any("Ctrl-C stops it" in line for line in lines):
            assert time.monotonic() < deadline and process.poll() is None, "".join(lines)
            lines.append(process.stdout.readline())  # type: ignore[union-attr]
        exports = dict(
            line.removeprefix("export ").strip().split("=", 1) for line in lines if line.startswith("export ")
        )
        assert exports["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        s3 = boto3.client(
            "s3",
            region_name="us-east-1",
            endpoint_url=exports["AWS_ENDPOINT_URL"],
            aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        )
        assert "demo-training-data" in {b["Name"] for b in s3.list_buckets()["Buckets"]}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
