"""`complyflow report --since DATE`: the trend as terminal tables, optionally as a self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from complyflow.cli import app
from complyflow.core.model import Status
from tests.report.factory import finding, stored_run

RUNNER = CliRunner()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    root = tmp_path / "configs"
    (root / "controls").mkdir(parents=True)
    (root / "scope.yaml").write_text(yaml.safe_dump({"accounts": [{"name": "demo"}], "regions": ["eu-west-1"]}))
    (root / "owners.yaml").write_text(yaml.safe_dump({"fallback_owner": "platform-team"}))
    for cid, frameworks in (("c-enc", {"iso27001": ["A.8.24"]}), ("c-log", {"soc2": ["CC7.2"]})):
        (root / "controls" / f"{cid}.yaml").write_text(
            yaml.safe_dump(
                {
                    "id": cid,
                    "title": f"Title of {cid}",
                    "rationale": "r",
                    "policy_clause": {"document": "P", "section": "1"},
                    "frameworks": frameworks,
                    "severity": "high",
                    "owner_role": "team",
                    "evidence_table": "things",
                    "rule": {
                        "expectation": "expect_column_values_to_be_in_set",
                        "column": "ok",
                        "kwargs": {"value_set": [1]},
                    },
                    "remediation": "fix",
                }
            )
        )
    return root


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    root = tmp_path / "evidence"
    stored_run(root, [finding("c-enc", Status.FAIL), finding("c-log", Status.PASS)], run_id="20261101T020000Z-aaaaaa")
    stored_run(
        root,
        [finding("c-enc", Status.FAIL, "a"), finding("c-enc", Status.PASS, "b"), finding("c-log", Status.PASS)],
        run_id="20261110T020000Z-aaaaaa",
    )
    stored_run(root, [finding("c-enc", Status.PASS), finding("c-log", Status.ERROR)], run_id="20261120T020000Z-aaaaaa")
    stored_run(root, [finding("c-enc", Status.PASS)], run_id="20261121T020000Z-aaaaaa", sealed=False)
    return root


def invoke(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(app, ["report", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_trend_tables_per_framework_and_control(config: Path, evidence: Path) -> None:
    code, out = invoke("--since", "2026-11-05", "--evidence-dir", str(evidence), "--config", str(config))
    assert code == 0, out
    assert "2 sealed run(s) since 2026-11-05" in out
    assert "2026-11-10 02:00 to 2026-11-20 02:00" in out
    assert "skipped run 20261121T020000Z-aaaaaa: not sealed (crashed or still running)" in out
    lines = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
        for line in out.splitlines()
        if line.count("│") >= 7
    }
    assert lines["ISO/IEC 27001:2022 Annex A"] == ["2", "50.0 %", "100.0 %", "+50.0", "50.0 %", "▅█"]
    assert lines["c-log"] == ["2", "100.0 %", "0.0 %", "-100.0", "0.0 %", "█▁"]
    assert lines["All controls"][:4] == ["2", "66.7 %", "50.0 %", "-16.7"]


def test_html_report_is_written(config: Path, evidence: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "trend.html"
    code, out = invoke(
        "--since", "2026-11-01", "--evidence-dir", str(evidence), "--config", str(config), "--html", str(target)
    )
    assert code == 0, out
    text = target.read_text()
    assert "<h1>Compliance posture since 2026-11-01</h1>" in text
    assert "<svg" in text and "<script" not in text


def test_no_runs_in_the_period(config: Path, evidence: Path) -> None:
    code, out = invoke("--since", "2026-11-25", "--evidence-dir", str(evidence), "--config", str(config))
    assert code == 0
    assert "no sealed runs since 2026-11-25" in out


def test_mixed_flows_are_flagged_and_can_be_filtered(config: Path, evidence: Path) -> None:
    stored_run(evidence, [finding("c-log", Status.FAIL)], run_id="20261115T020000Z-aaaaaa", flow="vendors")
    code, out = invoke("--since", "2026-11-01", "--evidence-dir", str(evidence), "--config", str(config))
    assert code == 0 and "runs of several flows (nightly, vendors)" in out
    code, out = invoke(
        "--since", "2026-11-01", "--evidence-dir", str(evidence), "--config", str(config), "--flow", "vendors"
    )
    assert code == 0 and "1 sealed run(s)" in out and "several flows" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "last week"], "is not a date"),
        (["--since", "2999-01-01"], "is in the future"),
        (["--since", "2026-11-01", "--evidence-dir", "/nonexistent/evidence"], "not found"),
    ],
)
def test_bad_input_is_a_clear_error(args: list[str], message: str, config: Path, evidence: Path) -> None:
    extra = [] if "--evidence-dir" in args else ["--evidence-dir", str(evidence)]
    code, out = invoke(*args, *extra, "--config", str(config))
    assert code == 2
    assert message in out


def test_since_is_optional() -> None:
    """`complyflow report` alone reads the last 30 days; what stops it here is the missing evidence root."""
    result = RUNNER.invoke(app, ["report", "--evidence-dir", "/nonexistent/evidence"])
    assert result.exit_code == 2
    assert "Missing option" not in result.output and "evidence root" in result.output
