"""Read the latest drift report of each source a model names: Model Monitor, Evidently, or its datasets.

Each reader returns `DriftReport`s in the one shape of `tasks.drift.report`; a source that cannot be
read raises (the collector turns that into an evidence gap, so its controls report ERROR).
"""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd

from tasks.drift import model_monitor as mm
from tasks.drift.evidently import parse_report
from tasks.drift.inventory import DriftSources
from tasks.drift.report import DriftReport, MalformedReport, MissingFeature, NoDriftReport, Statistic
from tasks.drift.stats import feature_drift
from tasks.drift.storage import Store

DATASET_READERS = {".parquet": pd.read_parquet, ".pq": pd.read_parquet, ".csv": pd.read_csv}


def read_json(store: Store, uri: str) -> Any:
    try:
        return json.loads(store.read(uri))
    except json.JSONDecodeError as exc:
        raise MalformedReport(f"{uri}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc


def model_monitor_reports(store: Store, prefix: str) -> list[DriftReport]:
    """The latest execution of every monitoring schedule under the output prefix."""
    base = store.location(prefix).rstrip("/") + "/"  # a folder: s3://b/mon must not match s3://b/mon-old/
    executions = mm.latest_executions(store.files(base), base)
    if not executions:
        raise NoDriftReport(f"no {mm.VIOLATIONS_FILE} or {mm.STATISTICS_FILE} under {prefix}")
    reports = []
    for execution in executions:
        features: list[str] = []
        quality: dict[str, float] = {}
        if mm.STATISTICS_FILE in execution.files:
            features, quality = mm.parse_statistics(read_json(store, execution.files[mm.STATISTICS_FILE]))
        folder = next(iter(execution.files.values())).rpartition("/")[0]
        if mm.VIOLATIONS_FILE in execution.files:
            violations = mm.parse_violations(read_json(store, execution.files[mm.VIOLATIONS_FILE]))
            statistics = mm.violation_statistics(features, violations)
        else:  # without the violations file nothing says the checks passed
            statistics = [
                Statistic(
                    feature=mm.DATASET_FEATURE,
                    statistic="constraint_violations",
                    value=None,
                    bound="max",
                    governed_by="constraint_violations_max",
                    error=NoDriftReport(f"{folder}: {mm.VIOLATIONS_FILE} missing"),
                )
            ]
        reports.append(
            DriftReport(
                source="model-monitor",
                name=execution.schedule,
                uri=folder,
                report_time=execution.time,
                statistics=tuple(statistics),
                quality=quality,
            )
        )
    return reports


def evidently_report(store: Store, location: str) -> DriftReport:
    """The newest Evidently JSON report at `location` (a file, or a prefix / folder of reports)."""
    candidates = [o for o in store.files(location) if o.uri.endswith(".json")]
    if not candidates:
        raise NoDriftReport(f"no Evidently JSON report at {location}")
    newest = max(candidates, key=lambda o: (o.modified, o.uri))
    stamp, statistics, quality = parse_report(read_json(store, newest.uri))
    # name stays "": one Evidently report per model, whatever its file is called, keeps finding ids stable
    return DriftReport(
        source="evidently",
        name="",
        uri=newest.uri,
        report_time=stamp or newest.modified,
        statistics=tuple(statistics),
        quality=quality,
    )


def read_dataset(store: Store, uri: str) -> pd.DataFrame:
    suffix = "." + uri.rpartition(".")[2].lower() if "." in uri.rpartition("/")[2] else ""
    reader = DATASET_READERS.get(suffix)
    if reader is None:
        raise MalformedReport(f"{uri}: datasets must be Parquet (.parquet, .pq) or CSV (.csv)")
    return reader(io.BytesIO(store.read(uri)))  # type: ignore[operator]


def computed_report(store: Store, sources: DriftSources, bins: int) -> DriftReport:
    """complyflow's own drift report: PSI per feature and, for numeric features, the two-sample KS test.

    Its time is when the current dataset was last written: a report on stale data is a stale report.
    """
    if not (sources.reference and sources.current):
        raise NoDriftReport("a computed drift report needs both a reference and a current dataset")
    reference = read_dataset(store, sources.reference)
    current = read_dataset(store, sources.current)
    written = store.stat(sources.current).modified
    features = sources.features or [c for c in reference.columns if c not in set(sources.exclude)]
    statistics: list[Statistic] = []
    for feature in features:
        statistics.extend(_feature_statistics(feature, reference, current, bins, feature in sources.categorical))
    return DriftReport(
        source="computed", name="", uri=sources.current, report_time=written, statistics=tuple(statistics)
    )


def _feature_statistics(
    feature: str, reference: pd.DataFrame, current: pd.DataFrame, bins: int, categorical: bool
) -> list[Statistic]:
    missing = [side for side, frame in (("reference", reference), ("current", current)) if feature not in frame]
    try:
        if missing:
            raise MissingFeature(f"feature {feature!r} is not a column of the {' and '.join(missing)} data")
        drift = feature_drift(feature, reference[feature], current[feature], bins=bins, categorical=categorical)
    except ValueError as exc:
        error = exc if isinstance(exc, MissingFeature) else MissingFeature(str(exc))
        return [
            Statistic(feature=feature, statistic="psi", value=None, bound="max", governed_by="psi_max", error=error)
        ]
    detail = f"{drift.kind}; n_reference={drift.n_reference}, n_current={drift.n_current}"
    result = [
        Statistic(feature=feature, statistic="psi", value=drift.psi, bound="max", governed_by="psi_max", detail=detail)
    ]
    if drift.ks_pvalue is not None:
        result.append(
            Statistic(
                feature=feature,
                statistic="ks_pvalue",
                value=drift.ks_pvalue,
                bound="min",
                governed_by="ks_pvalue_min",
                ks_statistic=drift.ks_statistic,
                detail=detail,
            )
        )
    return result
