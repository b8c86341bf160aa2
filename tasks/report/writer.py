"""Write every report of a run into its folder, before the manifest is sealed so the hash chain covers them."""

from __future__ import annotations

from collections.abc import Sequence

from complyflow.core.config import Control, ExceptionsRegister
from complyflow.core.coverage import CoverageRow
from complyflow.core.model import EvidenceGap, Finding, RunSummary
from tasks.evidence import MANIFEST, EvidenceStore, RunFolder
from tasks.exceptions import ExceptionOutcome
from tasks.findings import FINDINGS_CSV, FINDINGS_JSON
from tasks.report.docs_index import render_docs_index
from tasks.report.html import render_run_report
from tasks.report.ocsf import write_ocsf_json
from tasks.report.posture import framework_mapping, posture
from tasks.report.trend import POSTURE_JSON, RunPoint, load_trend
from tasks.validate import DOCS_DIR

REPORT_HTML = "report.html"
COVERAGE_JSON = "findings/coverage.json"
OCSF_JSON = "findings/findings.ocsf.json"
DOCS_INDEX = f"{DOCS_DIR}/index.html"
TREND_RUNS = 30  # runs on the report's trend chart, this one included: bounds what a nightly run reads


def write_reports(
    folder: RunFolder,
    summary: RunSummary,
    findings: Sequence[Finding],
    controls: Sequence[Control],
    outcome: ExceptionOutcome,
    gaps: Sequence[EvidenceGap],
    register: ExceptionsRegister,
    *,
    trend_runs: int = TREND_RUNS,
    store: EvidenceStore | None = None,
    coverage: Sequence[CoverageRow] = (),
) -> dict[str, str]:
    """OCSF findings, posture, the Data Docs index and the HTML report; returns their paths in the run folder.

    The trend on the report is this run plus up to `trend_runs - 1` earlier sealed runs of the same flow,
    so that a nightly report is not compared with a narrower flow's runs. `coverage`, the policy matrix of
    this run, is a section of the report and `findings/coverage.json`: sealed with the run, it keeps the
    clause mapping in force then, as posture.json keeps the framework mapping.
    """
    mapping = framework_mapping(controls)
    with folder.open_text(OCSF_JSON) as handle:
        write_ocsf_json(handle, findings, {c.id: c for c in controls}, summary.started_at)
    written = {"ocsf": OCSF_JSON}
    current = posture(findings, mapping, [c.id for c in controls])
    point = RunPoint(run_id=summary.run_id, started_at=summary.started_at, flow=summary.flow, posture=current)
    written["posture"] = folder.write_json(POSTURE_JSON, point.to_dict())
    if coverage:
        written["coverage"] = folder.write_json(COVERAGE_JSON, [row.to_dict() for row in coverage])
    index = render_docs_index(folder.path / DOCS_DIR, summary.run_id, findings)
    if index is not None:
        written["gx_docs"] = folder.write_text(DOCS_INDEX, index)
    trend = load_trend(
        store or folder.root, mapping, before_run=summary.run_id, flow=summary.flow, limit=max(trend_runs - 1, 0)
    )
    trend.points.append(point)
    links = {"Findings (JSON)": FINDINGS_JSON, "Findings (CSV)": FINDINGS_CSV, "Findings (OCSF 1.x JSON)": OCSF_JSON}
    if index is not None:
        links["Great Expectations Data Docs"] = DOCS_INDEX
    links["Manifest (SHA-256 of every file, chained to the previous run)"] = MANIFEST
    written["html"] = folder.write_text(
        REPORT_HTML,
        render_run_report(
            summary=summary,
            findings=findings,
            controls=controls,
            outcome=outcome,
            register=register,
            gaps=gaps,
            current=current,
            trend=trend,
            links=links,
            coverage=coverage,
        ),
    )
    return written
