"""Small hand-made controls, findings and runs for the report tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from complyflow.core.config import Control, ExceptionEntry, ExceptionsRegister
from complyflow.core.model import Finding, RunSummary, Status, count_by_status
from tasks.evidence import RunFolder, seal
from tasks.findings import FINDINGS_JSON

STARTED = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def control(
    cid: str, *, frameworks: dict[str, list[str]] | None = None, severity: str = "high", table: str = "things"
) -> Control:
    return Control.model_validate(
        {
            "id": cid,
            "title": f"Title of {cid}",
            "rationale": f"Rationale of {cid}",
            "policy_clause": {"document": "AI Security Policy", "section": "3.2"},
            "frameworks": frameworks if frameworks is not None else {"iso27001": ["A.8.24"], "soc2": ["CC6.1"]},
            "severity": severity,
            "owner_role": "team",
            "evidence_table": table,
            "rule": {
                "expectation": "expect_column_values_to_be_in_set",
                "column": "ok",
                "kwargs": {"value_set": [True]},
            },
            "remediation": f"Remediate {cid}.",
        }
    )


def finding(
    cid: str,
    status: Status,
    name: str = "res",
    *,
    owner: str = "team-a",
    region: str = "eu-west-1",
    arn: str | None = None,
    run_id: str = "R",
    **extra: Any,
) -> Finding:
    arn = arn or f"arn:aws:s3:::{name}"
    values: dict[str, Any] = {
        "run_id": run_id,
        "control_id": cid,
        "control_title": f"Title of {cid}",
        "resource_arn": arn,
        "resource_id": arn,
        "resource_type": "AwsS3Bucket",
        "resource_name": name,
        "account": "111111111111",
        "region": region,
        "status": status,
        "severity": "high",
        "owner": owner,
        "observed": "ok = False",
        "expected": "ok = True",
        "evidence_file": "evidence/things.parquet",
        **extra,
    }
    return Finding(**values)


def summary(
    findings: list[Finding],
    *,
    run_id: str = "20261129T020000Z-aaaaaa",
    flow: str = "nightly",
    started: datetime = STARTED,
    controls: list[str] | None = None,
) -> RunSummary:
    return RunSummary(
        run_id=run_id,
        flow=flow,
        started_at=started,
        ended_at=started,
        scope={
            "accounts": ["111111111111"],
            "regions": ["eu-west-1"],
            "controls": controls if controls is not None else sorted({f.control_id for f in findings}),
            "frameworks": [],
        },
        counts=count_by_status(findings),
        run_dir="",
    )


def entry(
    eid: str = "EXC-1",
    *,
    control_id: str = "c-enc",
    resource: str = "arn:aws:s3:::excepted*",
    approval: date = date(2026, 9, 1),
    expiry: date = date(2027, 3, 1),
) -> ExceptionEntry:
    return ExceptionEntry(
        id=eid,
        control=control_id,
        resource=resource,
        justification="accepted",
        approver="ciso@example.com",
        approval_date=approval,
        expiry_date=expiry,
    )


def register(*entries: ExceptionEntry, window: int = 30) -> ExceptionsRegister:
    return ExceptionsRegister(review_window_days=window, exceptions=list(entries))


def stored_run(
    root: Path,
    findings: list[Finding],
    *,
    run_id: str,
    flow: str = "nightly",
    sealed: bool = True,
    controls: list[str] | None = None,
) -> Path:
    """A run folder as the pipeline leaves it without reports: findings.json, optionally sealed."""
    started = datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    folder = RunFolder(root, run_id).create()
    run = summary(findings, run_id=run_id, flow=flow, started=started, controls=controls)
    folder.write_json(FINDINGS_JSON, {"run": run.to_dict(), "findings": [f.to_dict() for f in findings]})
    if sealed:
        seal(folder, {"flow": flow})
    return folder.path
