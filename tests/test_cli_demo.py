"""`complyflow demo` end to end, twice on one evidence root: files agree, and the second run announces nothing new."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from complyflow.cli import app


def _run_dir(output: str) -> Path:
    match = re.search(r"evidence and findings: (\S+)", output)
    assert match, output
    return Path(match.group(1))


@pytest.mark.usefixtures("prefect_harness")
def test_demo_twice_leaves_consistent_evidence_and_announces_nothing_new_the_second_time(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    runner = CliRunner()
    root = tmp_path / "evidence"
    first = runner.invoke(app, ["demo", "--evidence-dir", str(root)], env={"COLUMNS": "400"})
    assert first.exit_code == 0, first.output
    run_dir = _run_dir(first.output)
    # A quiet console: progress and results only, nothing from moto, werkzeug, GX or task timeouts.
    console = first.output + "".join(capfd.readouterr())
    for noise in ("HTTP/1.1", "Created temporary directory", "Timeout of", "&lt;", "&gt;", "&amp;"):
        assert noise not in console, noise
    assert "collect" in first.output and "sealed: chain head SHA-256" in first.output

    manifest = json.loads((run_dir / "manifest.json").read_text())
    for relative, entry in manifest["files"].items():
        assert hashlib.sha256((run_dir / relative).read_bytes()).hexdigest() == entry["sha256"], relative
    findings = json.loads((run_dir / "findings" / "findings.json").read_text())["findings"]
    csv = pd.read_csv(run_dir / "findings" / "findings.csv")
    assert len(csv) == len(findings)
    for finding in findings:
        assert finding["evidence_file"] in manifest["files"] or finding["resource_type"] == "EvidenceScope"
    fails = {f["key"] for f in findings if f["status"] in ("FAIL", "REMINDER")}  # reminders are told too
    outbox = root / "notify" / "outbox.jsonl"
    records = [json.loads(line) for line in outbox.read_text().splitlines()]
    announced = {i["key"] for r in records if r.get("purpose") == "digest" for i in r["items"] if i["change"] == "new"}
    assert announced == fails

    second = runner.invoke(app, ["demo", "--evidence-dir", str(root)], env={"COLUMNS": "400"})
    assert second.exit_code == 0, second.output
    second_dir = _run_dir(second.output)
    assert second_dir != run_dir
    again = json.loads((second_dir / "findings" / "findings.json").read_text())["findings"]
    assert {f["key"] for f in again if f["status"] in ("FAIL", "REMINDER")} == fails
    later = [json.loads(line) for line in outbox.read_text().splitlines()][len(records) :]
    assert not [r for r in later if r.get("purpose") == "digest"], "the second run announced something"
    second_manifest = json.loads((second_dir / "manifest.json").read_text())
    assert (
        second_manifest["previous_manifest_sha256"]
        == hashlib.sha256((run_dir / "manifest.json").read_bytes()).hexdigest()
    )


def test_malformed_config_fails_before_any_aws_call_naming_file_and_field(config_dir: Path) -> None:
    (config_dir / "controls" / "iam-root-mfa.yaml").write_text(
        (config_dir / "controls" / "iam-root-mfa.yaml").read_text().replace("severity: critical", "severity: huge")
    )
    result = CliRunner().invoke(app, ["run", "nightly", "--config", str(config_dir)], env={"COLUMNS": "400"})
    assert result.exit_code == 2
    assert "iam-root-mfa.yaml" in result.output and "severity" in result.output
