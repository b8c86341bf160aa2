"""The coverage matrix: per policy clause, what evidences it and how that evidence stood in a run.

A CISO's question is "is our AI security policy complied with, clause by clause?"; the catalog answers it
per control. This module turns one into the other: each clause of `configs/policies/` with the enabled
controls and recurring evidence tasks (control ids starting `recurring-`) that name it, and the counts per
status those controls had in one sealed run, summed. A clause nothing names is "not evidenced", with the
reason its policy file gives. Pure data: the CLI, report.html, the Prefect artifact and the audit pack
render the same rows.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from complyflow.core.model import Finding, Status, control_state
from complyflow.core.policies import PolicyDocument, clauses_of, ref
from complyflow.core.text import csv_cell

if TYPE_CHECKING:
    from complyflow.core.config import Control

TASK_PREFIX = "recurring-"  # recurring evidence tasks join the catalog as controls with this id prefix
NOT_EVIDENCED = "not evidenced"
NO_RUN = "no run"  # evidenced, but no sealed run to read a status from
NOT_IN_RUN = "not in run"  # evidenced, but none of its controls was in the run's scope
NO_REASON = "nothing names this clause, and its policy file gives no reason"
STATUSES = tuple(str(s) for s in Status)


@dataclass(frozen=True, slots=True)
class RunStatus:
    """The run a matrix reads: counts per status for each control in its scope (zeros included)."""

    run_id: str
    flow: str
    started_at: datetime
    controls: Mapping[str, Mapping[str, int]]

    @classmethod
    def from_findings(
        cls, run_id: str, flow: str, started_at: datetime, findings: Iterable[Finding], control_ids: Iterable[str]
    ) -> RunStatus:
        counts: dict[str, Counter[str]] = {cid: Counter() for cid in control_ids}
        for finding in findings:
            counts.setdefault(finding.control_id, Counter())[str(finding.status)] += 1
        return cls(run_id, flow, started_at, {cid: {s: c[s] for s in STATUSES} for cid, c in counts.items()})


@dataclass(frozen=True, slots=True)
class CoverageRow:
    """One clause of the matrix. `controls` lists every enabled control and task evidencing it; `tasks` the
    recurring evidence tasks among them. `counts` is None when no run status applies (see `status`)."""

    document: str
    document_title: str
    clause: str
    title: str
    summary: str
    controls: tuple[str, ...]
    tasks: tuple[str, ...]
    status: str
    counts: dict[str, int] | None = None
    disabled: tuple[str, ...] = ()
    not_in_run: tuple[str, ...] = ()  # controls of the clause the run did not evaluate
    reason: str | None = None  # why not evidenced
    run_id: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.document}:{self.clause}"

    @property
    def evidenced(self) -> bool:
        return bool(self.controls)

    def to_dict(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "document_title": self.document_title,
            "clause": self.clause,
            "ref": self.ref,
            "title": self.title,
            "summary": self.summary,
            "controls": list(self.controls),
            "tasks": list(self.tasks),
            "status": self.status,
            "counts": dict(self.counts) if self.counts is not None else None,
            "disabled": list(self.disabled),
            "not_in_run": list(self.not_in_run),
            "not_evidenced_reason": self.reason,
            "run_id": self.run_id,
        }


@dataclass(frozen=True, slots=True)
class CoverageSummary:
    clauses: int
    evidenced: int
    with_reason: int  # not evidenced, with the policy file's reason
    without_reason: int  # not evidenced, and nobody said why: a gap to decide
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def percent(self) -> float | None:
        return None if not self.clauses else round(100.0 * self.evidenced / self.clauses, 1)

    def text(self) -> str:
        pct = "–" if self.percent is None else f"{self.percent:.1f} %"
        return (
            f"{self.evidenced} of {self.clauses} clauses evidenced ({pct}); {self.with_reason} not evidenced with a "
            f"reason, {self.without_reason} without one"
        )


def coverage_matrix(
    documents: Sequence[PolicyDocument], controls: Sequence[Control], run: RunStatus | None
) -> list[CoverageRow]:
    """One row per clause, in the documents' order."""
    by_ref: dict[str, list[Control]] = {}
    for control in controls:
        for clause_ref in clauses_of(control, documents):
            by_ref.setdefault(clause_ref, []).append(control)
    rows = []
    for document in documents:
        for clause in document.clauses:
            naming = sorted(by_ref.get(ref(document, clause), []), key=lambda c: c.id)
            ids = tuple(c.id for c in naming if c.enabled)
            disabled = tuple(c.id for c in naming if not c.enabled)
            base = {
                "document": document.id,
                "document_title": document.title,
                "clause": clause.id,
                "title": clause.title,
                "summary": clause.summary,
                "controls": ids,
                "tasks": tuple(i for i in ids if i.startswith(TASK_PREFIX)),
                "disabled": disabled,
                "run_id": run.run_id if run else None,
            }
            if not ids:
                reason = clause.not_evidenced_reason or (
                    f"only disabled controls name it: {', '.join(disabled)}" if disabled else NO_REASON
                )
                rows.append(CoverageRow(**base, status=NOT_EVIDENCED, reason=reason))
            elif run is None:
                rows.append(CoverageRow(**base, status=NO_RUN))
            else:
                rows.append(_with_run(base, ids, run))
    return rows


def _with_run(base: dict[str, Any], ids: tuple[str, ...], run: RunStatus) -> CoverageRow:
    in_run = [i for i in ids if i in run.controls]
    missing = tuple(i for i in ids if i not in run.controls)
    if not in_run:
        return CoverageRow(**base, status=NOT_IN_RUN, not_in_run=missing)
    counts = {s: sum(int(run.controls[i].get(s, 0)) for i in in_run) for s in STATUSES}
    return CoverageRow(**base, status=control_state(counts), counts=counts, not_in_run=missing)


def summarize(rows: Sequence[CoverageRow]) -> CoverageSummary:
    return CoverageSummary(
        clauses=len(rows),
        evidenced=sum(r.evidenced for r in rows),
        with_reason=sum(not r.evidenced and r.reason != NO_REASON for r in rows),
        without_reason=sum(not r.evidenced and r.reason == NO_REASON for r in rows),
        by_status=dict(Counter(r.status for r in rows)),
    )


def counts_text(counts: Mapping[str, int] | None) -> str:
    """`PASS 10 · FAIL 2 · ERROR 0`, then EXCEPTED and REMINDER only when there are some (they stand apart)."""
    if counts is None:
        return ""
    text = " · ".join(f"{s} {counts.get(s, 0)}" for s in ("PASS", "FAIL", "ERROR"))
    apart = [f"{s} {counts[s]}" for s in ("EXCEPTED", "REMINDER") if counts.get(s)]
    return text + (f" ({', '.join(apart)})" if apart else "")


def status_text(row: CoverageRow) -> str:
    """The status of a row in words, with its counts or its reason."""
    if row.counts is not None:
        return f"{row.status}: {counts_text(row.counts)}"
    if row.reason:
        return f"{row.status}: {row.reason}"
    return row.status


CSV_COLUMNS = (
    "document",
    "clause",
    "title",
    "summary",
    "controls",
    "tasks",
    "status",
    *STATUSES,
    "not_in_run",
    "not_evidenced_reason",
    "run_id",
)


def coverage_csv(rows: Iterable[CoverageRow]) -> str:
    """The matrix as CSV for auditors' spreadsheets; every cell guarded against formula injection."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in rows:
        counts = row.counts or {}
        values: dict[str, object] = {
            "document": row.document,
            "clause": row.clause,
            "title": row.title,
            "summary": row.summary,
            "controls": "; ".join(row.controls),
            "tasks": "; ".join(row.tasks),
            "status": row.status,
            **{s: counts.get(s, "") if row.counts is not None else "" for s in STATUSES},
            "not_in_run": "; ".join(row.not_in_run),
            "not_evidenced_reason": row.reason or "",
            "run_id": row.run_id or "",
        }
        writer.writerow({k: csv_cell(v) for k, v in values.items()})
    return buffer.getvalue()
