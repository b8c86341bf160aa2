"""Findings files beside the evidence: JSON (complete) and CSV (for spreadsheets and GRC imports)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any, TextIO

from complyflow.core.model import Finding
from complyflow.core.text import csv_cell
from tasks.jsonstream import dumps_compact, write_array

FINDINGS_JSON = "findings/findings.json"
FINDINGS_CSV = "findings/findings.csv"
CSV_COLUMNS = [f.name for f in fields(Finding)] + ["key"]


def write_findings_csv(handle: TextIO, findings: Iterable[Finding]) -> None:
    writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for finding in findings:
        # Spreadsheet formula injection: untrusted text must not start a formula (see complyflow.core.text).
        writer.writerow({k: csv_cell(v) for k, v in finding.to_dict().items()})


def findings_csv(findings: Iterable[Finding]) -> str:
    buffer = io.StringIO()
    write_findings_csv(buffer, findings)
    return buffer.getvalue()


def write_findings_json(handle: TextIO, run: dict[str, Any], findings: Iterable[Finding]) -> None:
    """`{"run": {...}, "findings": [...]}`, one finding per line, streamed."""
    handle.write('{"run": ' + dumps_compact(run) + ',\n"findings": ')
    write_array(handle, (f.to_dict() for f in findings))
    handle.write("}\n")


def load_findings(run_dir: Path) -> list[Finding]:
    path = run_dir / FINDINGS_JSON
    if not path.exists():
        return []
    return [Finding.from_dict(item) for item in json.loads(path.read_text(encoding="utf-8"))["findings"]]
