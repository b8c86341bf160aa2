"""Posture over past runs, read from the findings in the evidence store (local folder or S3 bucket).

Each run's posture comes from its `findings/posture.json` (written with the run, so the framework
mapping is the one in force then); runs stored before that file existed are recomputed from
`findings/findings.json` with the current catalog's mapping. Only sealed runs count: a run without a
manifest crashed or is still running, and its files may be incomplete. Runs that cannot be read are
listed in `Trend.skipped` with the reason, never dropped silently. Runs are read from the store, not
the local staging folder, so a run on a fresh disk (a Kubernetes or ECS job) still sees the past.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from complyflow.core.model import Finding
from tasks.decisions import is_decision_run
from tasks.evidence import (
    MANIFEST,
    TOMBSTONE,
    EvidenceStore,
    LocalStore,
    MissingObjectError,
    run_date,
    run_key,
    store_run_ids,
)
from tasks.findings import FINDINGS_JSON
from tasks.report.posture import Posture, posture, score

POSTURE_JSON = "findings/posture.json"
SPARKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class RunPoint:
    """One run on the trend: when, which flow, and its posture."""

    run_id: str
    started_at: datetime
    flow: str
    posture: Posture

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "flow": self.flow,
            **self.posture.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunPoint:
        return cls(
            run_id=str(data["run_id"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            flow=str(data.get("flow", "")),
            posture=Posture.from_dict(data),
        )


@dataclass
class Trend:
    points: list[RunPoint] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (run id, why)

    def series(self, kind: str) -> dict[str, list[float | None]]:
        """Score per run for each control (`kind="controls"`) or framework (`"frameworks"`), oldest first."""
        names: list[str] = []
        for point in self.points:
            for name in getattr(point.posture, kind):
                if name not in names:
                    names.append(name)
        return {name: [_score_of(getattr(p.posture, kind), name) for p in self.points] for name in names}


def _score_of(counts: Mapping[str, Mapping[str, int]], name: str) -> float | None:
    return score(counts[name]) if name in counts else None


def read_run(store: EvidenceStore, run_id: str, mapping: Mapping[str, list[str]]) -> RunPoint:
    """The posture of one stored run; raises ValueError with the reason when its files cannot be read."""
    try:
        try:
            return RunPoint.from_dict(json.loads(store.get_bytes(run_key(run_id, POSTURE_JSON))))
        except MissingObjectError:
            pass
        data = json.loads(store.get_bytes(run_key(run_id, FINDINGS_JSON)))
        run = data["run"]
        findings = [Finding.from_dict(item) for item in data["findings"]]
        controls = run.get("scope", {}).get("controls", [])
        return RunPoint(
            run_id=str(run["run_id"]),
            started_at=datetime.fromisoformat(run["started_at"]),
            flow=str(run.get("flow", "")),
            posture=posture(findings, mapping, controls),
        )
    except (FileNotFoundError, MissingObjectError):
        raise ValueError("no stored findings") from None
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"unreadable findings: {type(exc).__name__}: {exc}"[:200]) from exc


def load_trend(
    source: Path | EvidenceStore,
    mapping: Mapping[str, list[str]],
    *,
    since: date | None = None,
    until: date | None = None,
    flow: str | None = None,
    before_run: str | None = None,
    limit: int | None = None,
) -> Trend:
    """Sealed runs in the store (or under a local evidence root) started on or after `since` (and on or before
    `until`), oldest first.

    `flow` keeps one flow's runs (a narrow flow's framework score is not comparable with a full run's);
    `before_run` keeps runs older than that run id; `limit` keeps only the most recent runs, so that the
    nightly report reads a bounded number of files.
    """
    store = LocalStore(source) if isinstance(source, Path) else source
    trend = Trend()
    candidates = []
    for run_id in store_run_ids(store):
        if before_run is not None and run_id >= before_run:
            continue
        day = run_date(run_id)
        if day is not None and ((since and day < since) or (until and day > until)):
            continue
        candidates.append(run_id)
    for run_id in reversed(candidates):  # newest first, so `limit` stops reading early
        if limit is not None and len(trend.points) >= limit:
            break
        if not store.exists(run_key(run_id, MANIFEST)):
            trend.skipped.append((run_id, "not sealed (crashed or still running)"))
            continue
        if store.exists(run_key(run_id, TOMBSTONE)) and not store.exists(run_key(run_id, POSTURE_JSON)):
            trend.skipped.append((run_id, "evidence pruned by the retention period"))
            continue
        try:
            point = read_run(store, run_id, mapping)
        except ValueError as exc:
            if not is_decision_run(store, run_id):  # a sealed decision (tasks/decisions.py) has no findings
                trend.skipped.append((run_id, str(exc)))
            continue
        if (since and point.started_at.date() < since) or (until and point.started_at.date() > until):
            continue
        if flow is not None and point.flow != flow:
            continue
        trend.points.append(point)
    trend.points.sort(key=lambda p: (p.started_at, p.run_id))
    trend.skipped.sort()
    return trend


def sparkline(values: list[float | None]) -> str:
    """Scores 0–100 as block characters; a run without a score is a space."""
    return "".join(" " if v is None else SPARKS[min(len(SPARKS) - 1, int(v / 100 * len(SPARKS)))] for v in values)
