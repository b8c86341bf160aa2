"""Prefect artifacts: what a person sees on the flow-run page. Stable keys keep a history across runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from complyflow.core.config import Control
from complyflow.core.coverage import CoverageRow, counts_text
from complyflow.core.model import Finding, RunSummary, Status
from complyflow.core.text import md_cell, md_code, md_text

SUMMARY_KEY = "compliance-summary"
VIOLATIONS_KEY = "compliance-violations"
COVERAGE_KEY = "compliance-coverage"


def md_escape(text: str) -> str:
    """Untrusted text as plain markdown on one line (kept for callers; see `complyflow.core.text`)."""
    return md_text(text)


def summary_rows(findings: list[Finding], controls: list[Control]) -> list[dict[str, object]]:
    """Counts per control as table-artifact rows; the UI renders cells as markdown, so the title is escaped
    (control ids match `[a-z0-9.-]+` at load and stay as they are, for people to copy)."""
    counts = Counter((f.control_id, f.status) for f in findings)
    return [
        {
            "control": c.id,
            "title": md_text(c.title),
            "severity": c.severity,
            **{str(s): counts[(c.id, s)] for s in Status},
        }
        for c in controls
    ]


def coverage_rows(rows: Sequence[CoverageRow]) -> list[dict[str, str]]:
    """The policy matrix as table-artifact rows. The Prefect UI renders each cell as markdown, and titles and
    reasons are config text: ids are inline code, everything else escaped markdown text."""
    return [
        {
            "document": md_text(row.document_title),
            "clause": md_text(row.clause),
            "title": md_text(row.title),
            "evidenced by": ", ".join(md_code(i) + (" (task)" if i in row.tasks else "") for i in row.controls) or "–",
            "status": md_text(row.status),
            "counts": md_text(counts_text(row.counts)),
            "not evidenced because": md_text(row.reason or ""),
        }
        for row in rows
    ]


def violations_markdown(summary: RunSummary, findings: list[Finding]) -> str:
    """Failing and unknown findings per owner. Owners, names and values are untrusted: each heading and
    cell is one line of inline code with `|` escaped, so no name can end a row or start a heading."""
    lines = [
        f"# Violations in run {md_text(summary.run_id)}",
        "",
        " · ".join(f"**{k}**: {v}" for k, v in summary.counts.items()),
        "",
    ]
    if summary.manifest_sha256:  # a witness of the chain head outside the evidence store
        lines += [f"Sealed; chain head SHA-256 {md_code(summary.manifest_sha256)}", ""]
    bad = [f for f in findings if f.status in (Status.FAIL, Status.ERROR)]
    if not bad:
        lines.append("No violations and no evidence gaps.")
    for owner in sorted({f.owner for f in bad}):
        lines += [
            f"## {md_code(owner) or '(no owner)'}",
            "",
            "| status | control | resource | region | observed | expected |",
            "|---|---|---|---|---|---|",
        ]
        for f in sorted((f for f in bad if f.owner == owner), key=lambda f: (f.control_id, f.resource_id)):
            lines.append(
                f"| {md_text(f.status)} | {md_text(f.control_id)} | {md_cell(f.resource_name)} | {md_text(f.region)} | "
                f"{md_cell(f.observed)} | {md_cell(f.expected)} |"
            )
        lines.append("")
    return "\n".join(lines)


def publish(
    summary: RunSummary, findings: list[Finding], controls: list[Control], coverage: Sequence[CoverageRow] = ()
) -> None:
    if coverage:
        create_table_artifact(
            key=COVERAGE_KEY,
            table=coverage_rows(coverage),
            description=f"Policy coverage per clause, run {md_text(summary.run_id)}",
        )
    create_table_artifact(
        key=SUMMARY_KEY,
        table=summary_rows(findings, controls),
        description=f"Findings per control, run {summary.run_id}",
    )
    create_markdown_artifact(
        key=VIOLATIONS_KEY,
        markdown=violations_markdown(summary, findings),
        description=f"Violations by owner, run {summary.run_id}",
    )
