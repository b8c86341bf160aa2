"""Model Monitor output: latest execution per schedule, violations and statistics files."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tasks.drift.model_monitor import (
    latest_executions,
    parse_statistics,
    parse_violations,
    violation_statistics,
)
from tasks.drift.report import MalformedReport
from tasks.drift.storage import StoredObject

PREFIX = "s3://mon/out/ep"
WRITTEN = datetime(2026, 11, 29, 3, tzinfo=UTC)


def _objects(*keys: str) -> list[StoredObject]:
    return [StoredObject(f"{PREFIX}/{k}", WRITTEN) for k in keys]


def test_latest_execution_of_each_schedule_from_the_date_folders() -> None:
    executions = latest_executions(
        _objects(
            "data-quality/2026/11/20/05/statistics.json",
            "data-quality/2026/11/20/05/constraint_violations.json",
            "data-quality/2026/11/27/23/constraint_violations.json",
            "data-quality/2026/11/27/23/statistics.json",
            "data-quality/2026/11/27/22/constraint_violations.json",
            "model-quality/2026/10/01/00/statistics.json",
            "model-quality/2026/10/01/00/merged/part-0000.jsonl",  # other outputs are ignored
        ),
        PREFIX,
    )
    assert [(e.schedule, e.time) for e in executions] == [
        ("data-quality", datetime(2026, 11, 27, 23, tzinfo=UTC)),
        ("model-quality", datetime(2026, 10, 1, 0, tzinfo=UTC)),
    ]
    assert executions[0].files == {
        "constraint_violations.json": f"{PREFIX}/data-quality/2026/11/27/23/constraint_violations.json",
        "statistics.json": f"{PREFIX}/data-quality/2026/11/27/23/statistics.json",
    }
    assert executions[1].files.keys() == {"statistics.json"}


def test_without_date_folders_the_newest_files_win() -> None:
    older = StoredObject(f"{PREFIX}/run-a/constraint_violations.json", datetime(2026, 1, 1, tzinfo=UTC))
    newer = StoredObject(f"{PREFIX}/run-b/constraint_violations.json", datetime(2026, 2, 1, tzinfo=UTC))
    (execution,) = latest_executions([newer, older], PREFIX)
    assert (execution.schedule, execution.time) == ("", datetime(2026, 2, 1, tzinfo=UTC))
    assert execution.files["constraint_violations.json"].endswith("run-b/constraint_violations.json")


def test_nothing_to_read_gives_no_execution() -> None:
    assert latest_executions(_objects("data-quality/2026/11/27/23/other.json"), PREFIX) == []


def test_violations_per_feature_and_metric() -> None:
    violations = parse_violations(
        {
            "violations": [
                {
                    "feature_name": "amount",
                    "constraint_check_type": "baseline_drift_check",
                    "description": "Baseline drift distance: 0.36 exceeds threshold: 0.1",
                },
                {"feature_name": "amount", "constraint_check_type": "completeness_check", "description": "94% < 99%"},
                {"metric_name": "auc", "constraint_check_type": "LessThanThreshold", "description": "0.71 < 0.8"},
                {"constraint_check_type": "extra_column_check", "description": "2 extra columns"},
            ]
        }
    )
    assert [(v.feature, v.check) for v in violations] == [
        ("amount", "baseline_drift_check"),
        ("amount", "completeness_check"),
        ("auc", "LessThanThreshold"),
        ("(all)", "extra_column_check"),
    ]
    rows = {s.feature: s for s in violation_statistics(["amount", "hour"], violations)}
    assert {f: s.value for f, s in rows.items()} == {"amount": 2.0, "hour": 0.0, "auc": 1.0, "(all)": 1.0}
    assert rows["amount"].detail == (
        "baseline_drift_check: Baseline drift distance: 0.36 exceeds threshold: 0.1; completeness_check: 94% < 99%"
    )
    assert {(s.bound, s.governed_by) for s in rows.values()} == {("max", "constraint_violations_max")}


def test_an_empty_report_still_yields_one_passing_row() -> None:
    (row,) = violation_statistics([], parse_violations({"violations": []}))
    assert (row.feature, row.value) == ("(all)", 0.0)


@pytest.mark.parametrize("doc", [[], {"violation": []}, {"violations": [{"feature_name": "a"}]}])
def test_malformed_violation_files_are_rejected(doc: object) -> None:
    with pytest.raises(MalformedReport, match="constraint_violations.json"):
        parse_violations(doc)


def test_statistics_features_and_quality_metrics() -> None:
    features, quality = parse_statistics(
        {
            "version": 0.0,
            "dataset": {"item_count": 10},
            "features": [
                {"name": "amount", "inferred_type": "Fractional"},
                {"name": "plan", "inferred_type": "String"},
            ],
            "binary_classification_metrics": {
                "confusion_matrix": {"0": {"0": 1, "1": 2}},
                "auc": {"value": 0.91, "standard_deviation": "NaN"},
                "accuracy": {"value": 0.5, "standard_deviation": 0.01},
            },
            "regression_metrics": {"rmse": {"value": 1.5}},
        }
    )
    assert features == ["amount", "plan"]
    assert quality == {"auc": 0.91, "accuracy": 0.5, "rmse": 1.5}


def test_malformed_statistics_are_rejected() -> None:
    with pytest.raises(MalformedReport, match="'features' must be a list"):
        parse_statistics({"features": [{"inferred_type": "String"}]})
    with pytest.raises(MalformedReport, match="expected a JSON object"):
        parse_statistics(["features"])
