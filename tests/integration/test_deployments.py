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
from datetime import UTC, datetime, timedelta
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


# --- owners in the loop: an access-review campaign and an exception request, resumed through the API ------


LOOP_CONTROLS = ("iam-access-review-completed", "iam-access-review-revocations-done", "s3-bucket-sse-kms")


@dataclass
class OwnersLoop:
    evidence: Path
    slack: Any  # tests.support.slack_double.SlackDouble
    reviews: dict[str, UUID]  # owner → the review's flow run
    request: UUID
    resumed: dict[str, Any]  # name → finished FlowRun
    nightly: Any
    principals: dict[str, list[str]]  # owner → principal ARNs reviewed


def _wait_paused(prefect: LocalPrefect, run_ids: list[UUID]) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    with _client(prefect) as client:
        while True:
            states = [client.read_flow_run(r).state for r in run_ids]
            if all(s is not None and s.is_paused() for s in states):
                return
            failed = [s for s in states if s is not None and s.is_final()]
            if failed or time.monotonic() > deadline:
                raise AssertionError(f"not suspended: {states}\n{prefect.log('worker-complyflow')}")
            time.sleep(1)


@pytest.fixture(scope="module")
def owners_loop(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnersLoop]:
    """On the module's server and workers: a campaign and a request are suspended, then answered as the UI
    would (resume with input), one review is left unanswered, and the next nightly run is made.

    Its own copy of the worker's evidence (sealed nightly included) and of the configs (the controls these
    decisions touch; escalation at the first run after the campaign); Slack is the double, for these runs
    only (job variables, which the campaign passes on to its reviews).
    """
    import yaml

    from tasks.access_reviews import CAMPAIGN_KIND, latest_principals, principals_by_owner
    from tasks.decisions import sealed_decisions
    from tests.support.slack_double import slack_double

    folder = tmp_path_factory.mktemp("owners")
    evidence = folder / "evidence"
    shutil.copytree(stack.evidence, evidence)
    configs = folder / "configs"
    shutil.copytree(REPO / "configs", configs)
    (configs / "access-review.yaml").write_text(yaml.safe_dump({"escalate_after_days": 0, "reminder_days": 7}))
    # The nightly run of this config reads IAM and S3 only (a fraction of the full run's time on two cores).
    keep = {*LOOP_CONTROLS, "logs-retention-365"}  # the last one: exceptions.yaml's entry names it
    for path in (configs / "controls").iterdir():
        if path.stem not in keep:
            path.unlink()
    where = {"config_dir": str(configs), "evidence_dir": str(evidence)}
    prefect = stack.prefect
    with slack_double() as slack, _client(prefect) as client:
        env = {"env": {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url}}

        def start(deployment: str, parameters: dict[str, Any]) -> UUID:
            found = client.read_deployment_by_name(f"{deployment}/{deployment}")
            return client.create_flow_run_from_deployment(found.id, parameters=parameters, job_variables=env).id

        campaign = start("access-review", where)
        request = start(
            "exception-request",
            {
                **where,
                "control": "s3-bucket-sse-kms",
                "resource": "arn:aws:s3:::demo-raw-uploads",
                "justification": "the upload tool only writes SSE-S3",
                "risk_assessment": "low: raw uploads are re-encrypted on ingestion",
                "mitigating_controls": "bucket policy denies public access; objects expire after 7 days",
                "requester": "data-eng",
                "requested_expiry": (datetime.now(UTC).date() + timedelta(days=60)).isoformat(),
            },
        )
        assert _state_of(_wait(prefect, {"campaign": campaign})["campaign"]) == "COMPLETED", prefect.log(
            "worker-complyflow"
        )
        (sealed,) = sealed_decisions(LocalStore(evidence), CAMPAIGN_KIND)[0]
        reviews = {r["owner"]: UUID(r["flow_run_id"]) for r in sealed.record["reviews"]}
        _wait_paused(prefect, [*reviews.values(), request])  # suspended: no worker slot is held meanwhile

        _, frame = latest_principals(LocalStore(evidence))
        principals = {o: [p.arn for p in ps] for o, ps in principals_by_owner(frame, "security-team").items()}
        dave = "arn:aws:iam::123456789012:user/dave"
        answers = {
            "platform-team": [
                {"principal": arn, "action": "revoke" if arn == dave else "keep", "comment": "left the team"}
                for arn in principals["platform-team"]
            ],
            "data-eng": [{"principal": arn, "action": "keep"} for arn in principals["data-eng"]],
        }  # ml-research does not answer: escalated by the next nightly run
        for owner, decisions in answers.items():
            client.resume_flow_run(
                reviews[owner], run_input={"reviewer": f"lead@{owner}.example.com", "decisions": decisions}
            )
        client.resume_flow_run(
            request,
            run_input={
                "outcome": "approve-with-conditions",
                "approver": "ciso@example.com",
                "conditions": "re-encrypt with the ml-data key by the expiry",
                "expiry_date": (datetime.now(UTC).date() + timedelta(days=30)).isoformat(),
            },
        )
        resumed = _wait(
            prefect, {"platform-team": reviews["platform-team"], "data-eng": reviews["data-eng"], "request": request}
        )
        nightly = _wait(prefect, {"nightly": start("nightly-compliance", where)})["nightly"]
        yield OwnersLoop(evidence, slack, reviews, request, resumed, nightly, principals)


def _state_of(run: Any) -> str:
    return str(run.state.type.value)


def _newest_findings(evidence: Path) -> list[dict[str, Any]]:
    runs = sorted(p for p in (evidence / "runs").iterdir() if (p / "findings" / "findings.json").is_file())
    return json.loads((runs[-1] / "findings" / "findings.json").read_text())["findings"]


def test_answered_review_and_request_are_sealed_signed_decisions(owners_loop: OwnersLoop) -> None:
    from tasks.access_reviews import REVIEW_KIND
    from tasks.decisions import sealed_decisions
    from tasks.exception_requests import KIND

    loop = owners_loop
    assert {name: _state_of(run) for name, run in loop.resumed.items()} == dict.fromkeys(loop.resumed, "COMPLETED")
    store = LocalStore(loop.evidence)
    reviews = {d.record["owner"]: d for d in sealed_decisions(store, REVIEW_KIND)[0]}
    assert set(reviews) == {"platform-team", "data-eng"}  # ml-research never answered
    platform = reviews["platform-team"].record
    assert platform["complete"] and platform["reviewer"] == "lead@platform-team.example.com"
    assert {i["name"]: i["action"] for i in platform["items"]}["dave"] == "revoke"
    assert platform["flow_run_id"] == str(loop.reviews["platform-team"])
    (request,) = sealed_decisions(store, KIND)[0]
    decision = request.record["decision"]
    assert (decision["outcome"], decision["approver"]) == ("approve-with-conditions", "ciso@example.com")
    assert decision["expiry_date"] == (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    for run_id in (reviews["platform-team"].run_id, request.run_id):
        assert (loop.evidence / "runs" / run_id / "manifest.sig").is_file()
    report = verify_store(store)
    assert report.ok, report.issues


def test_the_next_nightly_run_reflects_both_decisions(owners_loop: OwnersLoop) -> None:
    from tasks.decisions import sealed_decisions
    from tasks.exception_requests import KIND

    assert _state_of(owners_loop.nightly) == "COMPLETED"
    findings = _newest_findings(owners_loop.evidence)
    completed = {f["owner"]: f["status"] for f in findings if f["control_id"] == "iam-access-review-completed"}
    assert completed == {"platform-team": "PASS", "data-eng": "PASS", "ml-research": "FAIL"}
    revocations = {
        f["resource_name"]: f["status"] for f in findings if f["control_id"] == "iam-access-review-revocations-done"
    }
    assert revocations == {"dave": "FAIL"}  # marked revoke, still holds AdministratorAccess
    (request,) = sealed_decisions(LocalStore(owners_loop.evidence), KIND)[0]
    (upload,) = [
        f for f in findings if f["control_id"] == "s3-bucket-sse-kms" and f["resource_name"] == "demo-raw-uploads"
    ]
    assert (upload["status"], upload["exception_id"]) == ("EXCEPTED", request.record["request_id"])


def test_owners_and_approvers_hear_about_it_in_slack_once(owners_loop: OwnersLoop) -> None:
    slack = owners_loop.slack
    by_id = {p["metadata"]["event_payload"]["message_id"]: p for p in slack.posts if p.get("metadata")}
    assert set(slack.post_counts().values()) == {1}  # resumed runs start again from the top: nothing twice
    ml_review = str(owners_loop.reviews["ml-research"])
    ask = next(p for mid, p in by_id.items() if mid.endswith("/ml-research/request"))
    assert ask["channel"] == "#ml-research" and f"/runs/flow-run/{ml_review}" in json.dumps(ask["blocks"])
    escalation = next(p for mid, p in by_id.items() if mid.endswith("/ml-research/escalation"))
    assert escalation["channel"] == "#security" and ml_review in json.dumps(escalation["blocks"])
    request_ids = [mid for mid in by_id if mid.startswith("exception-request/")]
    asked = [m for m in request_ids if m.count("/") == 2 and m.endswith("/approver")]  # not /decision/approver
    assert [by_id[m]["channel"] for m in asked] == ["#security"]
    assert any(m.endswith("/decision/requester") and by_id[m]["channel"] == "#data-eng" for m in request_ids)
    assert not any(mid.endswith("/platform-team/escalation") for mid in by_id)  # answered: not escalated
