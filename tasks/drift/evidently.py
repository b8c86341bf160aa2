"""Evidently JSON reports (data-drift preset): per-column drift and, when present, classification quality.

Two layouts are read, without installing Evidently:
- legacy `Report.json()` (Evidently ≤ 0.6): `metrics[] = {"metric": "DataDriftTable", "result":
  {"drift_by_columns": {column: {stattest_name, stattest_threshold, drift_score, drift_detected}}}}`,
  `ColumnDriftMetric` results of the same shape, `ClassificationQualityMetric` with `result.current`;
- `Snapshot.json()` (Evidently ≥ 0.7): `metrics[] = {"metric_id": "ValueDrift(column=age,method=K-S
  p_value,threshold=0.05)", "value": 0.03}` and quality metrics such as `Accuracy()` / `RocAuc()`.
A p-value test signals drift with a *low* score, a distance with a *high* one; the direction is known
per test and an unknown test is reported, never guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tasks.drift.inventory import ThresholdName, metric_name
from tasks.drift.report import Bound, MalformedReport, Statistic, UnknownStatTest

#: Evidently stat tests by short name or display name (lower case) → direction of drift.
P_VALUE_TESTS = {
    "ks",
    "chisquare",
    "z",
    "anderson",
    "fisher_exact",
    "mannw",
    "cramer_von_mises",
    "es",
    "t_test",
    "g_test",
    "empirical_mmd",
}
DISTANCE_TESTS = {
    "psi",
    "wasserstein",
    "jensenshannon",
    "kl_div",
    "hellinger",
    "ed",
    "energy_distance",
    "text_content_drift",
    "perc_text_content_drift",
}
#: Stat tests that complyflow's own thresholds govern.
GOVERNED: dict[str, tuple[str, ThresholdName]] = {
    "psi": ("psi", "psi_max"),
    "ks": ("ks_pvalue", "ks_pvalue_min"),
    "k-s p_value": ("ks_pvalue", "ks_pvalue_min"),
}
QUALITY_METRICS = {"accuracy", "precision", "recall", "f1", "auc", "roc_auc", "log_loss"}
_NEW_QUALITY = {"Accuracy", "Precision", "Recall", "F1Score", "RocAuc"}


def stattest_bound(name: str) -> Bound:
    """`min` when low scores mean drift (p-values), `max` when high scores do (distances, PSI)."""
    key = name.strip().lower()
    if key in P_VALUE_TESTS or "p_value" in key:
        return "min"
    if key in DISTANCE_TESTS or "distance" in key or "divergence" in key or key == "psi":
        return "max"
    raise UnknownStatTest(f"Evidently stat test {name!r}: unknown whether a high or a low score is drift")


def statistic_name(stattest: str) -> tuple[str, ThresholdName | None]:
    """The statistic's row name (psi, ks_pvalue, or a slug of the test) and the inventory threshold governing it."""
    key = stattest.strip().lower()
    if key in GOVERNED:
        return GOVERNED[key]
    return re.sub(r"[^a-z0-9]+", "_", key).strip("_"), None


def column_statistic(column: str, stattest: str, score: Any, threshold: Any, detected: Any = None) -> Statistic:
    name, governed = statistic_name(stattest)
    detail = f"Evidently {stattest}" + ("" if detected is None else f", drift_detected={bool(detected)}")
    value = float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None
    limit = float(threshold) if isinstance(threshold, int | float) and not isinstance(threshold, bool) else None
    try:
        bound: Bound | None = stattest_bound(stattest)
        error = None if value is not None else MalformedReport(f"column {column!r}: drift_score is not a number")
    except UnknownStatTest as exc:
        bound, error = None, exc
    return Statistic(
        feature=column,
        statistic=name,
        value=value,
        bound=bound,
        threshold=limit,
        governed_by=governed,
        detail=detail,
        error=error,
    )


def parse_report(doc: Any) -> tuple[datetime | None, list[Statistic], dict[str, float]]:
    """(report timestamp if stated, per-column drift statistics, quality metrics) of an Evidently report."""
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), list):
        raise MalformedReport("not an Evidently report: expected an object with a 'metrics' list")
    statistics: list[Statistic] = []
    quality: dict[str, float] = {}
    for item in doc["metrics"]:
        if not isinstance(item, dict):
            continue
        if "metric" in item:
            _legacy(item, statistics, quality)
        elif "metric_id" in item:
            _snapshot(item, statistics, quality)
    if not statistics and not quality:
        raise MalformedReport(
            "Evidently report carries no per-column drift (DataDriftTable, ColumnDriftMetric, "
            "ValueDrift) and no quality metric"
        )
    return _timestamp(doc.get("timestamp")), statistics, quality


def _legacy(item: dict[str, Any], statistics: list[Statistic], quality: dict[str, float]) -> None:
    result = item.get("result")
    if not isinstance(result, dict):
        return
    columns: list[Any] = []
    if item["metric"] in ("DataDriftTable", "DatasetDriftMetric") and isinstance(result.get("drift_by_columns"), dict):
        columns = list(result["drift_by_columns"].values())
    elif item["metric"] == "ColumnDriftMetric":
        columns = [result]
    for column in columns:
        if not isinstance(column, dict) or "column_name" not in column or "stattest_name" not in column:
            raise MalformedReport(f"{item['metric']}: a column result lacks column_name or stattest_name")
        statistics.append(
            column_statistic(
                str(column["column_name"]),
                str(column["stattest_name"]),
                column.get("drift_score"),
                column.get("stattest_threshold", column.get("threshold")),
                column.get("drift_detected"),
            )
        )
    if item["metric"] == "ClassificationQualityMetric" and isinstance(result.get("current"), dict):
        for name, value in result["current"].items():
            if metric_name(name) in {metric_name(q) for q in QUALITY_METRICS} and _is_number(value):
                quality[metric_name(name)] = float(value)


def _snapshot(item: dict[str, Any], statistics: list[Statistic], quality: dict[str, float]) -> None:
    kind, params = _metric_id(str(item["metric_id"]))
    value = item.get("value")
    if kind == "ValueDrift":
        if "column" not in params or "method" not in params:
            raise MalformedReport(f"{item['metric_id']}: ValueDrift without column or method")
        statistics.append(column_statistic(params["column"], params["method"], value, _float(params.get("threshold"))))
    elif kind in _NEW_QUALITY and _is_number(value):
        quality[metric_name(kind)] = float(value)


def _metric_id(text: str) -> tuple[str, dict[str, str]]:
    """`ValueDrift(column=a,method=K-S p_value,threshold=0.05)` → ("ValueDrift", {column: a, …})."""
    match = re.fullmatch(r"\s*(\w+)\((.*)\)\s*", text)
    if not match:
        return text, {}
    parts = re.split(r",(?=\w+=)", match[2]) if match[2] else []
    params = dict(part.split("=", 1) for part in parts if "=" in part)
    return match[1], params


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedReport(f"timestamp {value!r} is not an ISO 8601 date-time") from exc
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "", "None") else None
    except ValueError:
        return None
