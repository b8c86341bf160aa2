"""Findings files beside the evidence: JSON (complete) and CSV (for spreadsheets and GRC imports)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import fields
from pathlib import Path

from complyflow.model import Finding

FINDINGS_JSON = "findings/findings.json"
FINDINGS_CSV = "findings/findings.csv"
CSV_COLUMNS = [f.name for f in fields(Finding)] + ["key"]


def findings_csv(findings: list[Finding]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for finding in findings:
        row = finding.to_dict()
        # Spreadsheet formula injection: untrusted text must not start a formula.
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v) for k, v in row.items()})
    return buffer.getvalue()


def load_findings(run_dir: Path) -> list[Finding]:
    path = run_dir / FINDINGS_JSON
    if not path.exists():
        return []
    return [Finding.from_dict(item) for item in json.loads(path.read_text(encoding="utf-8"))["findings"]]
