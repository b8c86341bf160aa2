"""The coverage matrix: per clause what evidences it, the newest sealed run's counts, and every rendering of it."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from complyflow.cli import app
from complyflow.core.config import load_config
from complyflow.core.coverage import (
    NO_REASON,
    NO_RUN,
    NOT_EVIDENCED,
    NOT_IN_RUN,
    RunStatus,
    coverage_csv,
    coverage_matrix,
    summarize,
)
from complyflow.core.model import Status
from tasks.artifacts import coverage_rows
from tasks.evidence import LocalStore
from tasks.report.coverage import stored_coverage
from tasks.report.html import coverage_section
from tests.report.factory import finding, stored_run

ROOT = Path(__file__).resolve().parents[2]
RUNNER = CliRunner()
HOSTILE = '=HYPERLINK("http://x")[red]<script>alert(1)</script> **bold** | `tick`\u202egnp.exe\nline'
T0 = datetime(2026, 11, 29, 2, tzinfo=UTC)


def _control(cid: str, section: str, clauses: list[str] | None = None, enabled: bool = True) -> dict[str, Any]:
    return {
        "id": cid,
        "title": f"Title of {cid}",
        "rationale": "r",
        "policy_clause": {"document": "Test Policy", "section": section},
        **({"clauses": clauses} if clauses else {}),
        "frameworks": {"iso27001": ["A.8.24"]},
        "severity": "high",
        "owner_role": "team",
        "evidence_table": "things",
        "rule": {"expectation": "expect_column_values_to_be_in_set", "column": "ok", "kwargs": {"value_set": [1]}},
        "remediation": "fix",
        "enabled": enabled,
    }


CLAUSES = [
    {"id": "1", "title": "Encryption", "summary": "Encrypt."},
    {"id": "2", "title": "Logging", "summary": "Log."},
    {"id": "3", "title": "Drills", "summary": "Drill."},
    {"id": "4", "title": "Disabled only", "summary": "Only a disabled control."},
    {"id": "5", "title": "Definitions", "summary": "Defines.", "not_evidenced_reason": "definitions; no obligation"},
    {"id": "6", "title": HOSTILE, "summary": HOSTILE},
]


@pytest.fixture
def policy_config(tmp_path: Path) -> Path:
    root = tmp_path / "configs"
    (root / "controls").mkdir(parents=True)
    (root / "policies").mkdir()
    (root / "scope.yaml").write_text(yaml.safe_dump({"accounts": [{"name": "demo"}], "regions": ["eu-west-1"]}))
    (root / "owners.yaml").write_text(yaml.safe_dump({"fallback_owner": "platform-team"}))
    controls = [
        _control("c-enc", "1 Encryption", ["test-policy:2"]),
        _control("c-log", "2 Logging"),
        _control("recurring-ir-drill", "3 Drills"),
        _control("c-off", "4", enabled=False),
    ]
    for data in controls:
        (root / "controls" / f"{data['id']}.yaml").write_text(yaml.safe_dump(data))
    document = {"id": "test-policy", "title": "Test Policy", "clauses": CLAUSES}
    (root / "policies" / "test-policy.yaml").write_text(yaml.safe_dump(document, allow_unicode=True))
    return root


def rows_by_clause(rows: list) -> dict[str, Any]:
    return {r.clause: r for r in rows}


# --- the matrix ----------------------------------------------------------------------------------


def test_matrix_without_a_run(policy_config: Path) -> None:
    config = load_config(policy_config)
    rows = rows_by_clause(coverage_matrix(config.policies, config.controls, None))
    assert rows["1"].controls == ("c-enc",) and rows["1"].status == NO_RUN and rows["1"].counts is None
    assert rows["2"].controls == ("c-enc", "c-log")  # c-enc names clause 2 as a secondary clause
    assert rows["3"].controls == ("recurring-ir-drill",) and rows["3"].tasks == ("recurring-ir-drill",)
    assert rows["4"].status == NOT_EVIDENCED and rows["4"].disabled == ("c-off",)
    assert rows["4"].reason == "only disabled controls name it: c-off"
    assert rows["5"].status == NOT_EVIDENCED and rows["5"].reason == "definitions; no obligation"
    assert rows["6"].status == NOT_EVIDENCED and rows["6"].reason == NO_REASON
    summary = summarize(list(rows.values()))
    assert (summary.clauses, summary.evidenced, summary.with_reason, summary.without_reason) == (6, 3, 2, 1)


def test_status_aggregation_sums_the_clause_controls(policy_config: Path) -> None:
    config = load_config(policy_config)
    findings = [
        finding("c-enc", Status.PASS, "a"),
        finding("c-enc", Status.EXCEPTED, "b"),
        finding("c-log", Status.ERROR, "c"),
        finding("c-log", Status.PASS, "d"),
        finding("c-log", Status.REMINDER, "e"),
    ]
    run = RunStatus.from_findings("R1", "nightly", T0, findings, ["c-enc", "c-log", "recurring-ir-drill"])
    rows = rows_by_clause(coverage_matrix(config.policies, config.controls, run))
    assert rows["1"].status == "passing"  # EXCEPTED is an accepted risk, shown apart
    assert rows["1"].counts == {"PASS": 1, "FAIL": 0, "ERROR": 0, "EXCEPTED": 1, "REMINDER": 0}
    assert rows["2"].status == "error"  # an unknown is not a pass: ERROR wins over PASS
    assert rows["2"].counts == {"PASS": 2, "FAIL": 0, "ERROR": 1, "EXCEPTED": 1, "REMINDER": 1}
    assert rows["3"].status == "no resources" and rows["3"].counts == dict.fromkeys(rows["3"].counts, 0)
    assert all(r.run_id == "R1" for r in rows.values())


@pytest.mark.parametrize(
    ("statuses", "state"),
    [
        ([Status.PASS, Status.FAIL, Status.ERROR], "failing"),
        ([Status.PASS, Status.ERROR], "error"),
        ([Status.PASS, Status.REMINDER], "reminder"),
        ([Status.EXCEPTED], "passing"),
        ([], "no resources"),
    ],
)
def test_failing_wins_over_error_over_reminder_over_passing(
    policy_config: Path, statuses: list[Status], state: str
) -> None:
    config = load_config(policy_config)
    findings = [finding("c-log", s, f"r{i}") for i, s in enumerate(statuses)]
    run = RunStatus.from_findings("R", "nightly", T0, findings, ["c-enc", "c-log"])
    assert rows_by_clause(coverage_matrix(config.policies, config.controls, run))["2"].status == state


def test_controls_outside_the_run_are_named_not_counted(policy_config: Path) -> None:
    config = load_config(policy_config)
    run = RunStatus.from_findings("R", "vendors", T0, [finding("c-log", Status.FAIL)], ["c-log"])
    rows = rows_by_clause(coverage_matrix(config.policies, config.controls, run))
    assert rows["1"].status == NOT_IN_RUN and rows["1"].counts is None and rows["1"].not_in_run == ("c-enc",)
    assert rows["2"].status == "failing" and rows["2"].not_in_run == ("c-enc",) and rows["2"].counts["FAIL"] == 1


# --- the stored run --------------------------------------------------------------------------------


def test_newest_sealed_run_is_read_and_an_unsealed_one_skipped(policy_config: Path, tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    stored_run(root, [finding("c-enc", Status.FAIL)], run_id="20261101T020000Z-aaaaaa")
    stored_run(root, [finding("c-enc", Status.PASS)], run_id="20261102T020000Z-aaaaaa", flow="vendors")
    stored_run(root, [finding("c-enc", Status.ERROR)], run_id="20261103T020000Z-aaaaaa", sealed=False)
    config = load_config(policy_config)
    result = stored_coverage(config, LocalStore(root))
    assert result.run is not None and result.run.run_id == "20261102T020000Z-aaaaaa"
    assert result.skipped == [("20261103T020000Z-aaaaaa", "not sealed (crashed or still running)")]
    assert rows_by_clause(result.rows)["1"].status == "passing"
    nightly = stored_coverage(config, LocalStore(root), flow="nightly")
    assert nightly.run.run_id == "20261101T020000Z-aaaaaa" and rows_by_clause(nightly.rows)["1"].status == "failing"
    chosen = stored_coverage(config, LocalStore(root), run_id="20261101T020000Z-aaaaaa")
    assert rows_by_clause(chosen.rows)["1"].counts["FAIL"] == 1
    with pytest.raises(ValueError, match="a run of flow 'nightly', not 'vendors'"):
        stored_coverage(config, LocalStore(root), flow="vendors", run_id="20261101T020000Z-aaaaaa")
    with pytest.raises(ValueError, match="not a sealed run"):
        stored_coverage(config, LocalStore(root), run_id="20261103T020000Z-aaaaaa")


def test_no_run_yet(policy_config: Path, tmp_path: Path) -> None:
    result = stored_coverage(load_config(policy_config), LocalStore(tmp_path / "nothing-here"))
    assert result.run is None and rows_by_clause(result.rows)["1"].status == NO_RUN


# --- the command -----------------------------------------------------------------------------------


def coverage_cli(*args: str, width: int = 80) -> tuple[int, str]:
    result = RUNNER.invoke(app, ["coverage", *args], env={"COLUMNS": str(width)})  # the console reads COLUMNS
    return result.exit_code, result.output


def test_json_shape(policy_config: Path, tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    stored_run(root, [finding("c-enc", Status.FAIL), finding("c-log", Status.PASS)], run_id="20261101T020000Z-aaaaaa")
    code, output = coverage_cli("--config", str(policy_config), "--evidence-dir", str(root), "--format", "json")
    assert code == 0, output
    data = json.loads(output)
    assert isinstance(data, list) and len(data) == len(CLAUSES)
    for item in data:
        assert {"clause", "title", "controls", "status"} <= set(item)
        assert isinstance(item["controls"], list)
    first = data[0]
    assert first["clause"] == "1" and first["ref"] == "test-policy:1" and first["controls"] == ["c-enc"]
    assert (
        first["status"] == "failing" and first["counts"]["FAIL"] == 1 and first["run_id"] == "20261101T020000Z-aaaaaa"
    )
    assert data[2]["tasks"] == ["recurring-ir-drill"] and data[2]["status"] == NOT_IN_RUN
    assert data[4]["status"] == NOT_EVIDENCED and data[4]["not_evidenced_reason"] == "definitions; no obligation"
    assert data[5]["title"] == HOSTILE  # JSON keeps the exact text; escaping is the reader's format's job


def test_table_fits_80_columns_and_keeps_ids_whole(tmp_path: Path) -> None:
    code, output = coverage_cli("--evidence-dir", str(tmp_path / "none"), "--config", str(ROOT / "configs"))
    assert code == 0, output
    lines = output.splitlines()
    path_lines = [line for line in lines if str(tmp_path) in line]  # a path is printed whole, never folded
    assert len(path_lines) == 1
    assert max(len(line) for line in lines if line not in path_lines) <= 80
    assert "no sealed run" in output and "AI Security Policy" in output and "Vendor Security Guide" in output
    for control in load_config(ROOT / "configs").enabled_controls:  # each id whole, on a line of its own
        assert re.search(rf"(?m)^ +{re.escape(control.id)}( \(task\))? *$", output), control.id
    assert "not evidenced" in output and "definitions; no obligation" in output  # reasons never folded mid-word
    assert "clauses evidenced" in output


def test_table_prints_hostile_config_text_as_plain_text(policy_config: Path, tmp_path: Path) -> None:
    code, output = coverage_cli("--config", str(policy_config), "--evidence-dir", str(tmp_path / "none"), width=400)
    assert code == 0, output
    assert '=HYPERLINK("http://x")[red]<script>alert(1)</script>' in output  # rich markup shown, not applied
    assert "\u202e" not in output and "gnp.exe line" in output  # bidi control dropped, line break flattened


def test_bad_format_and_unknown_run_exit_2(policy_config: Path, tmp_path: Path) -> None:
    assert coverage_cli("--config", str(policy_config), "--format", "xml")[0] == 2
    code, output = coverage_cli("--config", str(policy_config), "--evidence-dir", str(tmp_path), "--run", "nope")
    assert code == 2 and "not a sealed run" in output


def test_a_config_without_policies_exits_2(policy_config: Path) -> None:
    for path in (policy_config / "policies").iterdir():
        path.unlink()
    enc = policy_config / "controls" / "c-enc.yaml"
    enc.write_text(yaml.safe_dump({k: v for k, v in yaml.safe_load(enc.read_text()).items() if k != "clauses"}))
    code, output = coverage_cli("--config", str(policy_config))
    assert code == 2 and "no policy documents" in output


def test_the_command_imports_neither_prefect_nor_gx_nor_boto3(policy_config: Path, tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from complyflow.cli import app\n"
        f"r = CliRunner().invoke(app, ['coverage', '--config', {str(policy_config)!r}, '--evidence-dir', "
        f"{str(tmp_path)!r}, '--format', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'great_expectations', 'boto3', 'flows'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


# --- renderings of hostile text ---------------------------------------------------------------------


def hostile_rows(policy_config: Path) -> list:
    config = load_config(policy_config)
    return coverage_matrix(config.policies, config.controls, None)


def test_html_section_escapes_titles_and_reasons(policy_config: Path) -> None:
    html = coverage_section(hostile_rows(policy_config))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\u202e" not in html
    assert "<h3>Test Policy</h3>" in html and "definitions; no obligation" in html
    assert coverage_section([]) == ""


def test_artifact_rows_escape_markdown(policy_config: Path) -> None:
    rows = coverage_rows(hostile_rows(policy_config))
    hostile = rows[5]
    assert "<script>" not in hostile["title"] and "\\<script\\>" in hostile["title"]
    assert "\\*\\*bold\\*\\*" in hostile["title"] and "\\|" in hostile["title"] and "\n" not in hostile["title"]
    assert rows[0]["evidenced by"] == "`c-enc`"
    assert rows[2]["evidenced by"] == "`recurring-ir-drill` (task)"


def test_csv_guards_formulas(policy_config: Path) -> None:
    table = list(csv.DictReader(io.StringIO(coverage_csv(hostile_rows(policy_config)))))
    assert [r["clause"] for r in table] == [c["id"] for c in CLAUSES]
    assert table[5]["title"].startswith("'=HYPERLINK")
    assert table[5]["summary"].startswith("'=")
    assert table[1]["controls"] == "c-enc; c-log" and table[2]["tasks"] == "recurring-ir-drill"
    assert table[0]["PASS"] == ""  # no run: no counts, not zero


# --- the run report and the audit pack ----------------------------------------------------------------


def test_run_report_has_the_section_only_with_a_matrix(policy_config: Path, tmp_path: Path) -> None:
    from tasks.evidence import RunFolder
    from tasks.exceptions import apply_exceptions
    from tasks.report.writer import COVERAGE_JSON, REPORT_HTML, write_reports
    from tests.report.factory import STARTED, register, summary

    config = load_config(policy_config)
    findings = [finding("c-enc", Status.FAIL, "<b>x</b>")]
    outcome = apply_exceptions(findings, register(), STARTED.date())
    run = summary(findings, run_id="20261129T020000Z-bbbbbb")
    rows = coverage_matrix(
        config.policies, config.controls, RunStatus.from_findings(run.run_id, "nightly", STARTED, findings, ["c-enc"])
    )
    with_matrix = RunFolder(tmp_path / "a", run.run_id).create()
    written = write_reports(with_matrix, run, findings, config.controls, outcome, [], register(), coverage=rows)
    assert written["coverage"] == COVERAGE_JSON  # sealed with the run: the clause mapping in force then
    sealed = json.loads((with_matrix.path / COVERAGE_JSON).read_text())
    assert sealed == [row.to_dict() for row in rows]
    html = (with_matrix.path / REPORT_HTML).read_text()
    assert "<h2>Policy coverage</h2>" in html and "<b>failing</b><br>PASS 0 · FAIL 1 · ERROR 0" in html
    assert "not in this run: c-log" in html and "<script>" not in html
    without = RunFolder(tmp_path / "b", run.run_id).create()
    assert "coverage" not in write_reports(without, run, findings, config.controls, outcome, [], register())
    assert "Policy coverage" not in (without.path / REPORT_HTML).read_text()


def test_audit_pack_holds_the_matrix_of_the_newest_run(policy_config: Path, tmp_path: Path) -> None:
    import zipfile
    from datetime import date

    from tasks.audit_pack import PackRequest, build_audit_pack

    root = tmp_path / "evidence"
    stored_run(root, [finding("c-enc", Status.PASS)], run_id="20261101T020000Z-aaaaaa")
    stored_run(root, [finding("c-enc", Status.FAIL), finding("c-log", Status.PASS)], run_id="20261102T020000Z-aaaaaa")
    config = load_config(policy_config)
    request = PackRequest(date(2026, 11, 1), date(2026, 11, 2))
    pack = build_audit_pack(LocalStore(root), config, request, out_dir=tmp_path / "out", now=T0)
    with zipfile.ZipFile(pack.path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    matrix = json.loads(files["coverage/coverage.json"])
    assert [r["clause"] for r in matrix] == [c["id"] for c in CLAUSES]
    assert matrix[0]["status"] == "failing" and matrix[0]["run_id"] == "20261102T020000Z-aaaaaa"
    table = list(csv.DictReader(io.StringIO(files["coverage/coverage.csv"].decode())))
    assert table[0]["FAIL"] == "1" and table[5]["title"].startswith("'=")
    index = json.loads(files["index.json"])["files"]
    assert {"coverage/coverage.json", "coverage/coverage.csv"} <= set(index)
    page = files["findings/findings.html"].decode()
    assert "Policy coverage (newest run)" in page and "<script>alert" not in page


def test_audit_pack_narrowed_to_one_control_counts_only_it(policy_config: Path, tmp_path: Path) -> None:
    import zipfile
    from datetime import date

    from tasks.audit_pack import PackRequest, build_audit_pack

    root = tmp_path / "evidence"
    stored_run(root, [finding("c-enc", Status.FAIL), finding("c-log", Status.PASS)], run_id="20261102T020000Z-aaaaaa")
    request = PackRequest(date(2026, 11, 1), date(2026, 11, 2), control_ids=("c-log",))
    pack = build_audit_pack(LocalStore(root), load_config(policy_config), request, out_dir=tmp_path / "out", now=T0)
    with zipfile.ZipFile(pack.path) as archive:
        matrix = {r["clause"]: r for r in json.loads(archive.read("coverage/coverage.json"))}
    assert matrix["1"]["status"] == NOT_IN_RUN
    assert matrix["2"]["status"] == "passing" and matrix["2"]["not_in_run"] == ["c-enc"]


def test_the_coverage_artifact_is_a_table_with_a_stable_key(prefect_harness: None, policy_config: Path) -> None:
    from prefect import flow
    from prefect.artifacts import Artifact

    from tasks.artifacts import COVERAGE_KEY, publish
    from tests.report.factory import summary

    config = load_config(policy_config)
    findings = [finding("c-enc", Status.FAIL)]
    rows = coverage_matrix(config.policies, config.controls, RunStatus.from_findings("R", "n", T0, findings, ["c-enc"]))

    @flow
    def publish_it() -> None:
        publish(summary(findings, run_id="20261129T020000Z-dddddd"), findings, config.controls, rows)

    publish_it()
    artifact = Artifact.get(COVERAGE_KEY)
    assert artifact is not None and artifact.type == "table"
    data = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    assert len(data) == len(CLAUSES) and data[0]["status"] == "failing" and "<script>" not in json.dumps(data)


def test_summary_artifact_rows_escape_control_titles() -> None:
    from tasks.artifacts import summary_rows
    from tests.report.factory import control

    hostile = control("c-enc").model_copy(update={"title": "**bold** [x](javascript:alert(1)) | <b>"})
    (row,) = summary_rows([], [hostile])
    assert row["control"] == "c-enc"
    assert "**" not in str(row["title"]).replace("\\*", "") and "\\|" in str(row["title"])
    assert "<b>" not in str(row["title"]) and "\\[x\\]" in str(row["title"])
