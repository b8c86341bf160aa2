"""Every run writes OCSF, CSV, HTML and GX Data Docs into its sealed folder and links them from Prefect."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws
from prefect.artifacts import Artifact
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

from complyflow.demo import seed_demo_estate
from flows.nightly import nightly_compliance


@pytest.fixture(scope="module")
def demo_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with mock_aws():
        seed_demo_estate()
        yield nightly_compliance(evidence_dir=str(tmp_path_factory.mktemp("reports") / "evidence"))


def test_reports_are_in_the_sealed_run_folder(demo_run: dict) -> None:
    run_dir = Path(demo_run["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for relative in (
        "report.html",
        "findings/findings.ocsf.json",
        "findings/findings.csv",
        "findings/posture.json",
        "findings/coverage.json",
        "gx-docs/index.html",
    ):
        digest = hashlib.sha256((run_dir / relative).read_bytes()).hexdigest()
        assert manifest["files"][relative]["sha256"] == digest, relative


def test_ocsf_has_one_valid_detection_finding_per_finding(demo_run: dict) -> None:
    run_dir = Path(demo_run["run_dir"])
    findings = json.loads((run_dir / "findings" / "findings.json").read_text())["findings"]
    raw = json.loads((run_dir / "findings" / "findings.ocsf.json").read_text())
    items = [DetectionFinding.model_validate(i) for i in raw]
    assert len(items) == len(findings)
    codes = {"PASS": "PASS", "FAIL": "FAIL", "EXCEPTED": "FAIL", "ERROR": "MANUAL", "REMINDER": "MANUAL"}
    assert Counter(i.status_code for i in items) == Counter(codes[f["status"]] for f in findings)
    assert {(i.metadata.event_code, i.resources[0].uid) for i in items} == {  # type: ignore[index]
        (f["control_id"], f["resource_arn"]) for f in findings
    }
    assert all(i.resources[0].region and i.resources[0].owner for i in items)  # type: ignore[index]


def test_html_report_and_data_docs_cover_the_run(demo_run: dict) -> None:
    run_dir = Path(demo_run["run_dir"])
    html = (run_dir / "report.html").read_text()
    assert "<script" not in html
    for owner in ("data-eng", "ml-research", "platform-team"):
        assert f"<h3>{owner} " in html
    assert "EXC-2026-001" in html
    index = (run_dir / "gx-docs" / "index.html").read_text()
    for table in ("s3_buckets", "iam_users", "kms_keys"):
        assert f"<code>{table}</code>" in index
    pages = list((run_dir / "gx-docs" / "validations").glob(f"*/{demo_run['run_id']}/*/*.html"))
    assert len(pages) >= 9


def test_prefect_links_to_the_reports(demo_run: dict) -> None:
    run_dir = Path(demo_run["run_dir"])
    report = Artifact.get("compliance-report")
    assert report is not None and (run_dir / "report.html").as_uri() in str(report.data)
    docs = Artifact.get("gx-data-docs")
    assert docs is not None and (run_dir / "gx-docs" / "index.html").as_uri() in str(docs.data)


def test_the_policy_coverage_is_in_the_report_and_the_ui(demo_run: dict) -> None:
    html = (Path(demo_run["run_dir"]) / "report.html").read_text()
    assert "<h2>Policy coverage</h2>" in html and "<h3>AI Security Policy</h3>" in html
    assert "<code>6.2</code> Logging and Auditing" in html and "<code>cloudtrail-multi-region</code>" in html
    coverage = Artifact.get("compliance-coverage")
    assert coverage is not None and coverage.type == "table"
    rows = json.loads(coverage.data) if isinstance(coverage.data, str) else coverage.data
    by_clause = {(r["document"], r["clause"]): r for r in rows}
    assert by_clause[("AI Security Policy", "3.2")]["status"] == "failing"  # the demo has unencrypted stores
    assert by_clause[("AI Security Policy", "1.3")]["status"] == "not evidenced"
    assert demo_run["run_id"] in str(coverage.description)


def test_coverage_command_reads_the_sealed_run(demo_run: dict) -> None:
    from typer.testing import CliRunner

    from complyflow.cli import app

    evidence = str(Path(demo_run["run_dir"]).parents[1])
    result = CliRunner().invoke(app, ["coverage", "--evidence-dir", evidence, "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["ref"]: r for r in json.loads(result.output)}
    assert {r["run_id"] for r in rows.values()} == {demo_run["run_id"]}
    assert rows["ai-security-policy:3.2"]["status"] == "failing" and rows["ai-security-policy:3.2"]["counts"]["FAIL"]
    assert rows["ml-secpol:human-security"]["controls"] and rows["ml-secpol:human-security"]["counts"] is not None
