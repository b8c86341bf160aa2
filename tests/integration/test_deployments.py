"""End to end on a real Prefect server and process worker, deployed from prefect.yaml, against moto on 127.0.0.1.

One module-scoped stack: `prefect server start` (SQLite, temporary PREFECT_HOME), the work pool from
configs/deployments.yaml, `prefect deploy --name ...` from the repository root, a `prefect worker start`
whose environment points boto3 at the moto server, and the demo estate seeded in this process. Runs are
triggered through the API as the UI form would, and read back through the Prefect client.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from complyflow.core.deploy_config import load_deployments_config
from flows.pre_audit import AUDIT_PACK_INDEX_KEY, AUDIT_PACK_KEY
from tasks.artifacts import SUMMARY_KEY, VIOLATIONS_KEY
from tasks.evidence import LocalStore
from tasks.verify import verify_store
from tests.integration.stack import REPO, LocalPrefect

RUN_TIMEOUT = 900  # seconds; two cores shared with other work


@dataclass
class Stack:
    prefect: LocalPrefect
    evidence: Path
    runs: dict[str, Any]  # name → finished FlowRun


def _client(stack: LocalPrefect) -> Any:
    from prefect.client.orchestration import SyncPrefectClient

    return SyncPrefectClient(api=stack.api_url)


def _trigger(prefect: LocalPrefect, deployment: str, parameters: dict[str, Any]) -> UUID:
    with _client(prefect) as client:
        found = client.read_deployment_by_name(f"{deployment}/{deployment}")
        return client.create_flow_run_from_deployment(found.id, parameters=parameters).id


def _wait(prefect: LocalPrefect, run_ids: dict[str, UUID]) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    finished: dict[str, Any] = {}
    with _client(prefect) as client:
        while len(finished) < len(run_ids):
            for name, run_id in run_ids.items():
                run = client.read_flow_run(run_id)
                if run.state is not None and run.state.is_final():
                    finished[name] = run
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"runs not finished after {RUN_TIMEOUT}s: {set(run_ids) - set(finished)}\n"
                    f"worker log:\n{prefect.log('worker-complyflow')}"
                )
            time.sleep(2)
    return finished


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from complyflow.demo import FAKE_CREDENTIALS, moto_server, seed_demo_estate

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log drowns test failures
    home = tmp_path_factory.mktemp("prefect-home")
    evidence = tmp_path_factory.mktemp("worker") / "evidence"
    prefect = LocalPrefect(home=home)
    try:
        with moto_server() as endpoint:
            seed_demo_estate()
            pool = prefect.deploy("--all")  # every deployment of prefect.yaml
            worker_env = {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "COMPLYFLOW_EVIDENCE_DIR": str(evidence)}
            # Two workers with two slots each: the fan-out run below must spread over both.
            prefect.start_worker(pool, worker_env, limit=2)
            prefect.start_worker(pool, worker_env, name="worker-b", limit=2)
            today = datetime.now(UTC).date().isoformat()
            nightly = _trigger(prefect, "nightly-compliance", {})
            # The nightly run must be sealed first so that the pre-audit pack holds both runs of today.
            runs = _wait(prefect, {"nightly": nightly})
            runs |= _wait(
                prefect,
                {
                    "pre-audit": _trigger(prefect, "pre-audit", {"frameworks": ["soc2"], "period_start": today}),
                    "bad-pre-audit": _trigger(prefect, "pre-audit", {"controls": ["no-such-control"]}),
                },
            )
            fan_out_config = _fan_out_config(tmp_path_factory.mktemp("fan-out"))
            runs |= _wait(
                prefect,
                {
                    "fan-out": _trigger(
                        prefect,
                        "nightly-compliance",
                        {"config_dir": str(fan_out_config), "evidence_dir": str(evidence.parent / "fan-out-evidence")},
                    )
                },
            )
            yield Stack(prefect=prefect, evidence=evidence, runs=runs)
    finally:
        prefect.stop()


FAN_OUT_ACCOUNTS = {f"acct-{n}": f"{n}" * 12 for n in "1234"}  # name → account id (111111111111, …)


def _fan_out_config(folder: Path) -> Path:
    """The shipped configs, with four accounts reached through AssumeRole and collection fanned out."""
    import boto3
    import yaml

    target = folder / "configs"
    shutil.copytree(REPO / "configs", target)
    accounts = []
    for name, account_id in FAN_OUT_ACCOUNTS.items():
        role = f"arn:aws:iam::{account_id}:role/complyflow-read-only"
        accounts.append({"name": name, "role_arn": role, "owner": f"{name}-team"})
        creds = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="seed")["Credentials"]
        logs = boto3.client(
            "logs",
            region_name="eu-west-1",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        logs.create_log_group(logGroupName=f"/{name}/app")
    scope = {
        "global_region": "us-east-1",
        "regions": ["us-east-1", "eu-west-1"],
        "accounts": accounts,
        "execution": {"mode": "deployments", "timeout_seconds": RUN_TIMEOUT},
    }
    (target / "scope.yaml").write_text(yaml.safe_dump(scope))
    return target


def _artifacts(stack: Stack, run: str) -> dict[str, Any]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with _client(stack.prefect) as client:
        found = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[stack.runs[run].id])))
    return {a.key: a for a in found if a.key}


def _state(stack: Stack, run: str) -> str:
    return str(stack.runs[run].state.type.value)


def test_every_configured_deployment_is_deployed_with_its_schedule(stack: Stack) -> None:
    config = load_deployments_config()
    with _client(stack.prefect) as client:
        deployed = {d.name: d for d in client.read_deployments()}
    assert set(deployed) == set(config.deployments)
    for name, spec in config.deployments.items():
        schedules = [(s.schedule.cron, s.schedule.timezone) for s in deployed[name].schedules]
        assert schedules == ([(spec.schedule.cron, spec.schedule.timezone)] if spec.schedule else []), name
        assert deployed[name].work_pool_name == config.work_pool.name
        assert deployed[name].pull_steps == [
            {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}
        ]


def test_nightly_run_completes_with_named_runs_and_tasks(stack: Stack) -> None:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    assert _state(stack, "nightly") == "COMPLETED", stack.prefect.log("worker-complyflow")
    run = stack.runs["nightly"]
    assert run.name == f"nightly-{datetime.now(UTC):%Y-%m-%d}-all-controls"
    with _client(stack.prefect) as client:
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
    names = {t.name for t in tasks}
    assert "collect-iam-123456789012-us-east-1" in names
    assert (
        "collect-s3-buckets-123456789012-us-east-1" in names and "collect-ec2-settings-123456789012-eu-west-1" in names
    )
    assert all(t.state.is_completed() for t in tasks if t.name.startswith("collect-"))


def _run_findings(stack: Stack, flow: str) -> list[dict[str, Any]]:
    """Findings of the worker's run of `flow`, read from the evidence it sealed."""
    runs = [p for p in (stack.evidence / "runs").iterdir() if json.loads((p / "run.json").read_text())["flow"] == flow]
    assert len(runs) == 1, runs
    return json.loads((runs[0] / "findings" / "findings.json").read_text())["findings"]


def test_nightly_artifacts_are_read_back_through_the_client(stack: Stack) -> None:
    artifacts = _artifacts(stack, "nightly")
    assert {SUMMARY_KEY, VIOLATIONS_KEY} <= set(artifacts)
    rows = artifacts[SUMMARY_KEY].data
    rows = json.loads(rows) if isinstance(rows, str) else rows
    findings = _run_findings(stack, "nightly")
    expected = Counter((f["control_id"], f["status"]) for f in findings)
    assert {
        (r["control"], s): r[s] for r in rows for s in ("PASS", "FAIL", "ERROR", "EXCEPTED", "REMINDER") if r[s]
    } == dict(expected)  # the table in the UI is exactly what the sealed findings say
    failing = {f["resource_name"] for f in findings if f["status"] == "FAIL"}
    assert "demo-legacy-db" in failing and "demo-legacy-db" in artifacts[VIOLATIONS_KEY].data


def test_pre_audit_builds_an_audit_pack_linked_from_an_artifact(stack: Stack) -> None:
    assert _state(stack, "pre-audit") == "COMPLETED", stack.prefect.log("worker-complyflow")
    assert stack.runs["pre-audit"].name == f"pre-audit-{datetime.now(UTC):%Y-%m-%d}-soc2"
    artifacts = _artifacts(stack, "pre-audit")
    link = artifacts[AUDIT_PACK_KEY].data
    url = link[link.index("](") + 2 : -1]
    assert url.startswith("file://") and url.endswith(".zip")
    pack = Path(url.removeprefix("file://"))
    assert pack.parent == stack.evidence.resolve() / "audit-packs"
    with zipfile.ZipFile(pack) as archive:
        names = set(archive.namelist())
        index = json.loads(archive.read("index.json"))
    assert len(index["runs"]) == 2 and index["verification"]["ok"]  # tonight's nightly and this run
    assert index["runs"][1]["previous_run_id"] == index["runs"][0]["run_id"]
    for run in index["runs"]:
        assert f"runs/{run['run_id']}/manifest.json" in names
    assert {
        "findings/findings.csv",
        "findings/findings.ocsf.json",
        "findings/findings.html",
        "controls/catalog.csv",
        "exceptions/register.json",
        "SHA256SUMS",
    } <= names
    assert "verified" in artifacts[AUDIT_PACK_INDEX_KEY].data


def test_a_failing_run_is_failed_not_completed(stack: Stack) -> None:
    assert _state(stack, "bad-pre-audit") == "FAILED"
    assert "no-such-control" in (stack.runs["bad-pre-audit"].state.message or "")


def test_the_evidence_written_by_the_worker_verifies(stack: Stack) -> None:
    report = verify_store(LocalStore(stack.evidence))
    assert report.ok and report.issues == [] and len(report.runs_checked) == 2


def test_fan_out_spreads_accounts_over_two_workers_and_merges_one_report(stack: Stack) -> None:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    assert _state(stack, "fan-out") == "COMPLETED", stack.prefect.log("worker-complyflow")
    root = stack.evidence.parent / "fan-out-evidence"
    (run_dir,) = (root / "runs").iterdir()
    summary = json.loads((run_dir / "run.json").read_text())
    assert summary["scope"]["execution"] == "deployments"
    collected_by = summary["scope"]["collected_by"]
    assert set(collected_by) == set(FAN_OUT_ACCOUNTS)
    assert len(set(collected_by.values())) == 2, collected_by  # both workers took part
    assert "worker-b" in collected_by.values()
    findings = json.loads((run_dir / "findings" / "findings.json").read_text())["findings"]
    logs = {
        (f["account"], f["resource_name"], f["status"])
        for f in findings
        if f["control_id"] == "logs-retention-policy-set"
    }
    assert logs == {(account_id, f"/{name}/app", "FAIL") for name, account_id in FAN_OUT_ACCOUNTS.items()}
    assert set(summary["scope"]["accounts"]) == set(FAN_OUT_ACCOUNTS.values())
    assert not (root / "staging").exists() or not any((root / "staging").iterdir())
    with _client(stack.prefect) as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[stack.runs["fan-out"].id])
            )
        )
    assert sorted(c.name.split("-")[1] + "-" + c.name.split("-")[2] for c in children) == sorted(FAN_OUT_ACCOUNTS)
    assert all(c.state and c.state.is_completed() for c in children)
