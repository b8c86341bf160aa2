"""Prefect artifacts: what a person sees on the flow-run page. Stable keys keep a history across runs."""

from __future__ import annotations

from collections import Counter

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from complyflow.core.config import Control
from complyflow.core.model import Finding, RunSummary, Status

SUMMARY_KEY = "compliance-summary"
VIOLATIONS_KEY = "compliance-violations"


def md_escape(text: str) -> str:
    """Neutralise markdown and HTML in untrusted resource text."""
    out = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in "\\`*_{}[]()#+!|":
        out = out.replace(char, "\\" + char)
    return out


def summary_rows(findings: list[Finding], controls: list[Control]) -> list[dict[str, object]]:
    counts = Counter((f.control_id, f.status) for f in findings)
    return [
        {"control": c.id, "title": c.title, "severity": c.severity, **{str(s): counts[(c.id, s)] for s in Status}}
        for c in controls
    ]


def violations_markdown(summary: RunSummary, findings: list[Finding]) -> str:
    lines = [
        f"# Violations in run {summary.run_id}",
        "",
        " · ".join(f"**{k}**: {v}" for k, v in summary.counts.items()),
        "",
    ]
    bad = [f for f in findings if f.status in (Status.FAIL, Status.ERROR)]
    if not bad:
        lines.append("No violations and no evidence gaps.")
    for owner in sorted({f.owner for f in bad}):
        lines += [
            f"## {md_escape(owner)}",
            "",
            "| status | control | resource | region | observed | expected |",
            "|---|---|---|---|---|---|",
        ]
        for f in sorted((f for f in bad if f.owner == owner), key=lambda f: (f.control_id, f.resource_id)):
            lines.append(
                f"| {f.status} | {f.control_id} | {md_escape(f.resource_name)} | {f.region} | "
                f"{md_escape(f.observed)} | {md_escape(f.expected)} |"
            )
        lines.append("")
    return "\n".join(lines)


def publish(summary: RunSummary, findings: list[Finding], controls: list[Control]) -> None:
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
