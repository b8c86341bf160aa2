"""Evidently data-drift reports, legacy Report.json() and Snapshot.json() layouts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from complyflow.demo.models import evidently_fraud_report
from tasks.drift.evidently import parse_report, stattest_bound
from tasks.drift.report import MalformedReport, UnknownStatTest


def test_legacy_data_drift_table_and_classification_quality() -> None:
    stamp, statistics, quality = parse_report(evidently_fraud_report(datetime(2026, 11, 28, 6, tzinfo=UTC)))
    assert stamp == datetime(2026, 11, 28, 6, tzinfo=UTC)
    assert [(s.feature, s.statistic, s.value, s.bound, s.threshold, s.governed_by) for s in statistics] == [
        ("amount", "psi", 0.31, "max", 0.1, "psi_max"),
        ("hour", "ks_pvalue", 0.42, "min", 0.05, "ks_pvalue_min"),
        ("merchant_category", "jensen_shannon_distance", 0.04, "max", 0.1, None),
    ]
    assert statistics[0].detail == "Evidently PSI, drift_detected=True"
    assert quality == {"accuracy": 0.81, "precision": 0.7, "recall": 0.56, "f1": 0.62}


def test_snapshot_layout_value_drift_and_quality_metrics() -> None:
    doc = {
        "metrics": [
            {"id": "a1", "metric_id": "DriftedColumnsCount(drift_share=0.5)", "value": {"count": 1, "share": 0.5}},
            {"id": "a2", "metric_id": "ValueDrift(column=age,method=K-S p_value,threshold=0.05)", "value": 0.003},
            {"id": "a3", "metric_id": "ValueDrift(column=city,method=psi,threshold=0.1)", "value": 0.05},
            {
                "id": "a4",
                "metric_id": "ValueDrift(column=income,method=Wasserstein distance (normed),threshold=0.1)",
                "value": 0.2,
            },
            {"id": "a5", "metric_id": "RocAuc(probas_threshold=None)", "value": 0.77},
            {"id": "a6", "metric_id": "Accuracy()", "value": 0.9},
        ],
        "tests": [],
    }
    stamp, statistics, quality = parse_report(doc)
    assert stamp is None  # Snapshot.json() has no timestamp: the file's time is used instead
    assert [(s.feature, s.statistic, s.value, s.bound, s.threshold) for s in statistics] == [
        ("age", "ks_pvalue", 0.003, "min", 0.05),
        ("city", "psi", 0.05, "max", 0.1),
        ("income", "wasserstein_distance_normed", 0.2, "max", 0.1),
    ]
    assert quality == {"auc": 0.77, "accuracy": 0.9}


def test_column_drift_metric_without_the_table() -> None:
    doc = {
        "timestamp": "2026-11-01T10:00:00",
        "metrics": [
            {
                "metric": "ColumnDriftMetric",
                "result": {
                    "column_name": "prediction",
                    "column_type": "num",
                    "stattest_name": "Wasserstein distance (normed)",
                    "stattest_threshold": 0.1,
                    "drift_score": 0.177,
                    "drift_detected": True,
                },
            }
        ],
    }
    stamp, (stat,), quality = parse_report(doc)
    assert stamp == datetime(2026, 11, 1, 10, tzinfo=UTC)  # naive timestamps are read as UTC
    assert (stat.feature, stat.statistic, stat.bound, stat.error) == (
        "prediction",
        "wasserstein_distance_normed",
        "max",
        None,
    )
    assert quality == {}


@pytest.mark.parametrize(
    ("name", "bound"),
    [
        ("K-S p_value", "min"),
        ("chi-square p_value", "min"),
        ("ks", "min"),
        ("z", "min"),
        ("psi", "max"),
        ("PSI", "max"),
        ("Jensen-Shannon distance", "max"),
        ("Kullback-Leibler divergence", "max"),
        ("wasserstein", "max"),
        ("Hellinger distance (normed)", "max"),
    ],
)
def test_direction_of_each_stat_test(name: str, bound: str) -> None:
    assert stattest_bound(name) == bound


def test_an_unknown_stat_test_is_reported_not_guessed() -> None:
    with pytest.raises(UnknownStatTest, match="my_custom_test"):
        stattest_bound("my_custom_test")
    _, (stat,), _ = parse_report(
        {"metrics": [{"metric_id": "ValueDrift(column=a,method=my_custom_test)", "value": 0.4}]}
    )
    assert (stat.bound, stat.threshold, type(stat.error)) == (None, None, UnknownStatTest)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"metric": []}, "expected an object with a 'metrics' list"),
        ({"metrics": [{"metric": "DatasetSummaryMetric", "result": {}}]}, "carries no per-column drift"),
        (
            {"metrics": [{"metric": "DataDriftTable", "result": {"drift_by_columns": {"a": {"drift_score": 1}}}}]},
            "lacks column_name or stattest_name",
        ),
        ({"timestamp": "yesterday", "metrics": [{"metric_id": "Accuracy()", "value": 0.9}]}, "not an ISO 8601"),
    ],
)
def test_malformed_reports_are_rejected(doc: dict, message: str) -> None:
    with pytest.raises(MalformedReport, match=message):
        parse_report(doc)


def test_a_non_numeric_score_is_an_error_on_that_column() -> None:
    _, (stat,), _ = parse_report(
        {
            "metrics": [
                {
                    "metric": "ColumnDriftMetric",
                    "result": {
                        "column_name": "a",
                        "stattest_name": "psi",
                        "stattest_threshold": 0.1,
                        "drift_score": None,
                    },
                }
            ]
        }
    )
    assert stat.value is None and isinstance(stat.error, MalformedReport)
