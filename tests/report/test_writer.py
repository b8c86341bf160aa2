"""write_reports: every report in the run folder before the seal, so the manifest covers it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

from complyflow.core.model import Finding, Status
from tasks.evidence import RunFolder, seal
from tasks.exceptions import apply_exceptions
from tasks.report.trend import POSTURE_JSON, load_trend
from tasks.report.writer import DOCS_INDEX, OCSF_JSON, REPORT_HTML, write_reports
from tasks.validate import DOCS_DIR, build_data_docs, findings_for_table, new_context
from tests.report.factory import STARTED, control, entry, finding, register, stored_run, summary

CONTROLS = [control("c-enc", frameworks={"iso27001": ["A.8.24"]}), control("c-log", frameworks={"soc2": ["CC7.2"]})]
RUN_ID = "20261129T020000Z-bbbbbb"


def run(folder: RunFolder, findings: list[Finding], flow: str = "nightly") -> dict[str, str]:
    reg = register(entry(control_id="c-enc", resource="arn:aws:s3:::excepted*"))
    outcome = apply_exceptions(findings, reg, STARTED.date())
    run_summary = summary(outcome.findings, run_id=folder.run_id, flow=flow, controls=[c.id for c in CONTROLS])
    return write_reports(folder, run_summary, outcome.findings, CONTROLS, outcome, [], reg)


def test_reports_are_written_and_sealed_with_the_run(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, RUN_ID).create()
    findings = [
        finding("c-enc", Status.FAIL, "b", run_id=RUN_ID),
        finding("c-enc", Status.FAIL, "excepted-1", arn="arn:aws:s3:::excepted-1", run_id=RUN_ID),
        finding("c-log", Status.PASS, "c", run_id=RUN_ID),
    ]
    written = run(folder, findings)
    assert written == {"ocsf": OCSF_JSON, "posture": POSTURE_JSON, "html": REPORT_HTML}  # no Data Docs rendered
    manifest = seal(folder, {"flow": "nightly"})
    for relative in written.values():
        entry_ = manifest["files"][relative]
        assert hashlib.sha256((folder.path / relative).read_bytes()).hexdigest() == entry_["sha256"]
    items = json.loads((folder.path / OCSF_JSON).read_text())
    assert [DetectionFinding.model_validate(i).status_code for i in items] == ["FAIL", "FAIL", "PASS"]
    assert [i["status"] for i in items] == ["New", "Suppressed", "New"]
    html = (folder.path / REPORT_HTML).read_text()
    for href in ("findings/findings.json", "findings/findings.csv", OCSF_JSON, "manifest.json"):
        assert f'href="{href}"' in html
    (point,) = load_trend(tmp_path, {}).points  # sealed: the stored posture is what the trend reads
    assert point.posture.controls["c-enc"] == {"PASS": 0, "FAIL": 1, "ERROR": 0, "EXCEPTED": 1, "REMINDER": 0}


def test_report_trend_includes_earlier_runs_of_the_same_flow_only(tmp_path: Path) -> None:
    stored_run(tmp_path, [finding("c-enc", Status.FAIL)], run_id="20261127T020000Z-aaaaaa")
    stored_run(tmp_path, [finding("c-log", Status.FAIL)], run_id="20261128T020000Z-aaaaaa", flow="vendors")
    stored_run(tmp_path, [finding("c-enc", Status.PASS)], run_id="20261128T030000Z-aaaaaa", sealed=False)
    folder = RunFolder(tmp_path, RUN_ID).create()
    run(folder, [finding("c-enc", Status.PASS, run_id=RUN_ID)])
    html = (folder.path / REPORT_HTML).read_text()
    assert "2 runs from 2026-11-27 02:00 to 2026-11-29 02:00" in html
    assert "<title>ISO/IEC 27001:2022 Annex A · 2026-11-27 02:00: 0.0 %</title>" in html
    assert "2026-11-28" not in html  # the vendors run and the unsealed run are not on the nightly trend


def test_data_docs_index_links_every_table_validated_in_the_run(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, RUN_ID).create()
    site = folder.path / DOCS_DIR
    findings: list[Finding] = []
    for table, cid in (("things", "c-enc"), ("logs", "c-log")):
        frame = pd.DataFrame(
            [
                {
                    "account": "111111111111",
                    "region": "eu-west-1",
                    "resource_arn": f"arn:aws:s3:::{t}",
                    "resource_type": "AwsS3Bucket",
                    "resource_id": f"arn:aws:s3:::{t}",
                    "resource_name": t,
                    "tags": "{}",
                    "owner": "team-a",
                    "ok": ok,
                }
                for t, ok in (("x", True), ("y", False))
            ]
        )
        context = new_context()
        ctl = control(cid, table=table, frameworks={"soc2": ["CC6.1"]})
        findings += findings_for_table(
            context=context,
            run_id=RUN_ID,
            table=table,
            frame=frame,
            controls=[ctl],
            gaps=[],
            evidence_file=f"evidence/{table}.parquet",
        )
        assert build_data_docs(context, table=table, run_id=RUN_ID, site_dir=site) is not None
    written = run(folder, findings)
    assert written["gx_docs"] == DOCS_INDEX
    index = (folder.path / DOCS_INDEX).read_text()
    for table in ("things", "logs"):
        pages = list((site / "validations" / table / RUN_ID).glob("*/*.html"))
        assert len(pages) == 1
        assert f'href="{pages[0].relative_to(site).as_posix()}"' in index
        assert f'href="expectations/{table}.html"' in index
        row = index[index.index(f"<code>{table}</code>") :].split("</tr>")[0]
        assert row.endswith(
            "<td class=num>1</td><td class=num>1</td><td class=num>0</td><td class=num>0</td><td class=num>0</td>"
        )
    assert f'href="{DOCS_INDEX}"' in (folder.path / REPORT_HTML).read_text()
    manifest = seal(folder, {})
    assert DOCS_INDEX in manifest["files"]
    assert any(name.startswith(f"{DOCS_DIR}/validations/things/") for name in manifest["files"])
