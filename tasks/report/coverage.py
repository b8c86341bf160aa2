"""The coverage matrix of a stored run: the current catalog and policies, with a sealed run's counts.

Counts come from the run's `findings/posture.json` (per control, written from its findings before the
seal), else from `findings/findings.json`; only sealed runs count, as for the trend. The run is read from
the evidence store (local folder or S3), never collected again, and nothing here imports Prefect or GX,
so `complyflow coverage` answers in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from complyflow.core.config import Config
from complyflow.core.coverage import CoverageRow, RunStatus, coverage_matrix
from tasks.evidence import MANIFEST, EvidenceStore, run_key
from tasks.report.trend import RunPoint, load_trend, read_run


@dataclass
class StoredCoverage:
    """The matrix, the run it read (None: no sealed run matched), and runs that could not be read."""

    rows: list[CoverageRow]
    run: RunPoint | None
    skipped: list[tuple[str, str]] = field(default_factory=list)


def run_status(point: RunPoint) -> RunStatus:
    return RunStatus(point.run_id, point.flow, point.started_at, point.posture.controls)


def latest_run(
    store: EvidenceStore, *, flow: str | None = None, run_id: str | None = None
) -> tuple[RunPoint | None, list[tuple[str, str]]]:
    """The newest sealed, readable run (of `flow` when given), or exactly `run_id`; with the runs skipped.

    Raises ValueError when `run_id` is not a sealed, readable run of the store (of `flow`, when both are given).
    """
    if run_id is not None:
        if not store.exists(run_key(run_id, MANIFEST)):
            raise ValueError(f"run {run_id} is not a sealed run of {store.location}")
        point = read_run(store, run_id, {})
        if flow is not None and point.flow != flow:
            raise ValueError(f"run {run_id} is a run of flow {point.flow!r}, not {flow!r}")
        return point, []
    trend = load_trend(store, {}, flow=flow, limit=1)
    return (trend.points[-1] if trend.points else None), trend.skipped


def stored_coverage(
    config: Config, store: EvidenceStore, *, flow: str | None = None, run_id: str | None = None
) -> StoredCoverage:
    point, skipped = latest_run(store, flow=flow, run_id=run_id)
    rows = coverage_matrix(config.policies, config.controls, run_status(point) if point else None)
    return StoredCoverage(rows=rows, run=point, skipped=skipped)
