"""SageMaker Model Monitor output: the latest execution per monitoring schedule, and its two files.

Model Monitor writes each execution to `<output prefix>/<endpoint>/<schedule>/<yyyy>/<mm>/<dd>/<hh>/`
with `statistics.json` (per-feature statistics; model-quality schedules carry `*_metrics`) and
`constraint_violations.json` (the checks that failed). The execution time is read from those date
folders, which is when the execution was scheduled; the files' modification time is the fallback.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tasks.drift.report import MalformedReport, Statistic
from tasks.drift.storage import StoredObject

VIOLATIONS_FILE = "constraint_violations.json"
STATISTICS_FILE = "statistics.json"
REPORT_FILES = (VIOLATIONS_FILE, STATISTICS_FILE)
DATASET_FEATURE = "(all)"  # row key for a report that names no feature
_DATED = re.compile(r"^(?P<schedule>.*?)/?(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})$")


@dataclass(frozen=True, slots=True)
class Execution:
    """The files of one monitoring execution."""

    schedule: str  # path between the configured prefix and the date folders ("" when there is none)
    time: datetime
    files: dict[str, str] = field(default_factory=dict)  # file name → URI


@dataclass(frozen=True, slots=True)
class Violation:
    feature: str
    check: str
    description: str


def latest_executions(objects: Iterable[StoredObject], prefix: str) -> list[Execution]:
    """The newest execution of each schedule found under `prefix`, by schedule name."""
    folders: dict[str, dict[str, StoredObject]] = {}
    for item in objects:
        folder, _, name = item.uri.rpartition("/")
        if name in REPORT_FILES:
            folders.setdefault(folder, {})[name] = item
    latest: dict[str, Execution] = {}
    base = prefix.rstrip("/")
    for folder, files in folders.items():
        relative = folder[len(base) :].strip("/") if folder.startswith(base) else folder
        schedule, when = _schedule_and_time(relative, max(f.modified for f in files.values()))
        current = latest.get(schedule)
        if current is None or when > current.time:
            latest[schedule] = Execution(schedule, when, {name: f.uri for name, f in files.items()})
    return [latest[k] for k in sorted(latest)]


def _schedule_and_time(relative: str, modified: datetime) -> tuple[str, datetime]:
    match = _DATED.match(relative)
    if not match:
        return "", modified
    try:
        when = datetime(int(match["y"]), int(match["m"]), int(match["d"]), int(match["h"]), tzinfo=UTC)
    except ValueError:  # e.g. month 13: not a date folder after all
        return "", modified
    return match["schedule"].strip("/"), when


def parse_violations(doc: Any) -> list[Violation]:
    """The violations of `constraint_violations.json`; model-quality violations name a metric, not a feature."""
    if not isinstance(doc, dict) or not isinstance(doc.get("violations"), list):
        raise MalformedReport(f"{VIOLATIONS_FILE}: expected an object with a 'violations' list")
    violations = []
    for index, item in enumerate(doc["violations"]):
        if not isinstance(item, dict) or not item.get("constraint_check_type"):
            raise MalformedReport(f"{VIOLATIONS_FILE}: violation #{index + 1} has no constraint_check_type")
        feature = item.get("feature_name") or item.get("metric_name") or DATASET_FEATURE
        violations.append(Violation(str(feature), str(item["constraint_check_type"]), str(item.get("description", ""))))
    return violations


def parse_statistics(doc: Any) -> tuple[list[str], dict[str, float]]:
    """(feature names, quality metrics) of `statistics.json`; metrics come from `*_metrics` sections."""
    if not isinstance(doc, dict):
        raise MalformedReport(f"{STATISTICS_FILE}: expected a JSON object")
    features = doc.get("features", [])
    if not isinstance(features, list) or not all(isinstance(f, dict) and f.get("name") for f in features):
        raise MalformedReport(f"{STATISTICS_FILE}: 'features' must be a list of objects with a name")
    quality: dict[str, float] = {}
    for section, metrics in doc.items():
        if not section.endswith("_metrics") or not isinstance(metrics, dict):
            continue
        for name, metric in metrics.items():
            value = metric.get("value") if isinstance(metric, dict) else None
            if isinstance(value, int | float) and not isinstance(value, bool):
                quality[str(name)] = float(value)
    return [str(f["name"]) for f in features], quality


def violation_statistics(features: list[str], violations: list[Violation]) -> list[Statistic]:
    """One `constraint_violations` count per feature (0 for the features that passed every check)."""
    by_feature: dict[str, list[Violation]] = {}
    for violation in violations:
        by_feature.setdefault(violation.feature, []).append(violation)
    names = list(dict.fromkeys([*features, *by_feature])) or [DATASET_FEATURE]
    return [
        Statistic(
            feature=name,
            statistic="constraint_violations",
            value=float(len(by_feature.get(name, []))),
            bound="max",
            governed_by="constraint_violations_max",
            detail="; ".join(f"{v.check}: {v.description}" for v in by_feature.get(name, []))[:500],
        )
        for name in names
    ]
