"""Inventory and drift evidence from moto S3 and from disk, decided by the catalog controls: exact verdicts."""

from __future__ import annotations

import io
import json
import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
import yaml

from complyflow.demo.models import evidently_fraud_report
from tasks.collect.model_drift import COLLECTOR
from tasks.drift.stats import EMPTY_BIN_SHARE
from tests.drift.support import collect, evaluate, model_configs, verdicts

pytestmark = pytest.mark.usefixtures("aws")
NOW = datetime.now(UTC)
BUCKET = "drift-evidence"
DEFAULTS = {
    "thresholds": {"psi_max": 0.2, "ks_pvalue_min": 0.01, "constraint_violations_max": 0},
    "psi_bins": 10,
    "quality_floors": {"accuracy": 0.75},
}
REFERENCE = pd.DataFrame({"x": range(100), "y": range(100), "z": ["a", "b"] * 50, "id": range(100)})
# x: bins 0-1 hold 15 %, bins 8-9 5 % (PSI 0.1·ln 3); y: half in bin 0, half in bin 9; z: 80 % a
CURRENT = pd.DataFrame(
    {
        "x": [
            *range(0, 10),
            *range(0, 5),
            *range(10, 20),
            *range(10, 15),
            *range(20, 80),
            *range(80, 85),
            *range(90, 95),
        ],
        "y": [*range(0, 10)] * 5 + [*range(90, 100)] * 5,
        "z": ["a"] * 80 + ["b"] * 20,
        "id": range(100),
    }
)
PSI_X = 0.1 * math.log(3)
PSI_Y = 2 * 0.4 * math.log(5) + 8 * (EMPTY_BIN_SHARE - 0.1) * math.log(EMPTY_BIN_SHARE / 0.1)
PSI_Z = 0.3 * math.log(1.6) - 0.3 * math.log(0.4)


def _put(key: str, body: Any) -> str:
    if isinstance(body, pd.DataFrame):
        buffer = io.BytesIO()
        body.to_parquet(buffer, index=False) if key.endswith(".parquet") else buffer.write(
            body.to_csv(index=False).encode()
        )
        body = buffer.getvalue()
    elif not isinstance(body, bytes):
        body = json.dumps(body).encode()
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def _execution(
    prefix: str,
    schedule: str,
    days_ago: float,
    features: list[str],
    violations: list[dict],
    metrics: dict[str, float] | None = None,
) -> None:
    folder = f"{prefix}/{schedule}/{NOW - timedelta(days=days_ago):%Y/%m/%d/%H}"
    stats: dict[str, Any] = {"version": 0, "features": [{"name": f} for f in features]}
    if metrics:
        stats["binary_classification_metrics"] = {k: {"value": v} for k, v in metrics.items()}
    _put(f"{folder}/statistics.json", stats)
    _put(f"{folder}/constraint_violations.json", {"violations": violations})


def _configs(tmp_path: Path, models: list[dict]) -> Path:
    folder = model_configs(tmp_path / "configs")
    (folder / "models.yaml").write_text(yaml.safe_dump({"defaults": DEFAULTS, "models": models}), encoding="utf-8")
    return folder


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    """Healthy, drifting, stale, unmonitored, incomplete and retired models with their evidence in moto S3."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    _execution("mm/healthy", "data", 2, ["x", "y"], [])
    _execution("mm/healthy", "quality", 1, [], [], {"auc": 0.9, "accuracy": 0.8})
    _execution(
        "mm/stale",
        "data",
        10,
        ["age"],
        [{"feature_name": "age", "constraint_check_type": "baseline_drift_check", "description": "0.4 > 0.1"}],
    )
    report = evidently_fraud_report(NOW - timedelta(days=1))
    report["metrics"][2]["result"]["current"]["accuracy"] = 0.7  # below the default floor of 0.75
    _put("ev/drifting/2026-11-28.json", report)
    same = _put("data/healthy/reference.parquet", REFERENCE)
    _put("data/drifting/reference.csv", REFERENCE)
    _put("data/drifting/current.csv", CURRENT)
    return _configs(
        tmp_path,
        [
            {
                "id": "healthy",
                "owner": "ml-research",
                "purpose": "p",
                "status": "production",
                "risk_tier": "high",
                "deployment": {"sagemaker_endpoint": "Healthy-EP", "region": "eu-west-1"},
                "drift": {
                    "model_monitor": f"s3://{BUCKET}/mm/healthy/",
                    "reference": same,
                    "current": same,
                    "exclude": ["id"],
                },
                "quality_floors": {"auc": 0.85},
            },
            {
                "id": "drifting",
                "owner": "data-eng",
                "purpose": "p",
                "status": "production",
                "drift": {
                    "evidently": f"s3://{BUCKET}/ev/drifting/",
                    "reference": f"s3://{BUCKET}/data/drifting/reference.csv",
                    "current": f"s3://{BUCKET}/data/drifting/current.csv",
                    "features": ["x", "y", "z"],
                },
                "thresholds": {"features": {"merchant_category": {"psi_max": 0.5}}},
            },
            {
                "id": "stale",
                "owner": "ml-research",
                "purpose": "p",
                "status": "production",
                "drift": {"model_monitor": f"s3://{BUCKET}/mm/stale"},
            },
            {"id": "unmonitored", "owner": "ml-research", "purpose": "p", "status": "production"},
            {"id": "draft", "status": "development", "drift": {"evidently": f"s3://{BUCKET}/ev/draft/report.json"}},
            {
                "id": "old",
                "owner": "x",
                "purpose": "p",
                "status": "retired",
                "drift": {"evidently": f"s3://{BUCKET}/ev/old/"},
            },
        ],
    )


def test_inventory_completeness(estate: Path) -> None:
    result = collect(COLLECTOR, estate)
    assert verdicts("model-inventory-complete", estate, result) == {
        "healthy": "PASS",
        "drifting": "PASS",
        "stale": "PASS",
        "unmonitored": "PASS",
        "draft": "FAIL",
        "old": "PASS",
    }
    (draft,) = [f for f in evaluate("model-inventory-complete", estate, result) if f.resource_name == "draft"]
    assert draft.observed.split("; ")[0] == "missing_fields = owner, purpose"
    assert (draft.owner, draft.owner_route) == ("account-owner", "account")  # no owner: the account's


def test_report_freshness_of_production_models(estate: Path) -> None:
    result = collect(COLLECTOR, estate)
    findings = {f.resource_name: f for f in evaluate("model-drift-report-fresh", estate, result)}
    assert {k: str(f.status) for k, f in findings.items()} == {
        "healthy model-monitor data": "PASS",
        "healthy model-monitor quality": "PASS",
        "healthy computed": "PASS",
        "drifting evidently": "PASS",
        "drifting computed": "PASS",
        "stale model-monitor data": "FAIL",
        "unmonitored none": "ERROR",
    }  # draft is not in production, old is retired
    assert findings["stale model-monitor data"].observed.split("; ")[0] == "report_age_days = 10"
    assert findings["stale model-monitor data"].expected == "report_age_days <= 7"
    assert findings["stale model-monitor data"].owner == "ml-research"
    assert findings["unmonitored none"].message.startswith("evidence missing: ReadModelInventory NoDriftSource: ")
    assert findings["healthy model-monitor data"].observed.split("; ")[0] == "report_age_days = 2"


def test_drift_per_feature_against_the_model_thresholds(estate: Path) -> None:
    result = collect(COLLECTOR, estate)
    assert verdicts("model-drift-within-threshold", estate, result) == {
        "healthy x constraint_violations (model-monitor data)": "PASS",
        "healthy y constraint_violations (model-monitor data)": "PASS",
        "healthy (all) constraint_violations (model-monitor quality)": "PASS",
        "healthy x psi (computed)": "PASS",
        "healthy x ks_pvalue (computed)": "PASS",
        "healthy y psi (computed)": "PASS",
        "healthy y ks_pvalue (computed)": "PASS",
        "healthy z psi (computed)": "PASS",
        # Evidently's own PSI threshold is 0.1, the inventory's 0.2 governs; its JS distance keeps its own 0.1
        "drifting amount psi (evidently)": "FAIL",
        "drifting hour ks_pvalue (evidently)": "PASS",
        "drifting merchant_category jensen_shannon_distance (evidently)": "PASS",
        "drifting x psi (computed)": "PASS",
        "drifting x ks_pvalue (computed)": "PASS",
        "drifting y psi (computed)": "FAIL",
        "drifting y ks_pvalue (computed)": "FAIL",
        "drifting z psi (computed)": "FAIL",
        "stale age constraint_violations (model-monitor data)": "FAIL",
        "draft drift report (evidently)": "ERROR",  # the report it names does not exist
    }


def test_drift_rows_are_the_computed_report_with_hand_computed_values(estate: Path) -> None:
    frame = collect(COLLECTOR, estate).tables["model_drift"].set_index("resource_id")
    y_psi = frame.loc["drifting/computed/y/psi"]
    assert y_psi["value"] == pytest.approx(PSI_Y, abs=1e-12)
    assert (y_psi["threshold"], y_psi["bound"]) == (0.2, "max")
    assert y_psi["drift_margin"] == pytest.approx(0.2 - PSI_Y, abs=1e-12)
    assert y_psi["detail"] == "numeric; n_reference=100, n_current=100"
    assert frame.loc["drifting/computed/x/psi", "value"] == pytest.approx(PSI_X, abs=1e-12)
    assert frame.loc["drifting/computed/z/psi", "value"] == pytest.approx(PSI_Z, abs=1e-12)
    y_ks = frame.loc["drifting/computed/y/ks_pvalue"]
    assert y_ks["ks_statistic"] == pytest.approx(0.4)  # F_cur − F_ref peaks at 9: 0.5 − 0.1
    assert (y_ks["threshold"], y_ks["bound"]) == (0.01, "min")
    assert y_ks["drift_margin"] == pytest.approx(y_ks["value"] - 0.01)
    assert math.isnan(frame.loc["drifting/computed/z/psi", "ks_statistic"])  # categorical: no KS
    amount = frame.loc["drifting/evidently/amount/psi"]
    assert (amount["value"], amount["threshold"], amount["drift_margin"]) == pytest.approx((0.31, 0.2, -0.11))
    assert frame.loc["drifting/computed/y/psi", "report_uri"] == f"s3://{BUCKET}/data/drifting/current.csv"
    assert set(frame.loc[frame["model_id"] == "healthy", "resource_arn"]) == {
        "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/healthy-ep"
    }
    assert set(frame.loc[frame["model_id"] == "drifting", "resource_arn"]) == {"complyflow:model/drifting"}
    assert set(frame.loc[frame["model_id"] == "healthy", "region"]) == {"eu-west-1"}


def test_findings_name_model_feature_statistic_and_go_to_the_model_owner(estate: Path) -> None:
    findings = {f.resource_id: f for f in evaluate("model-drift-within-threshold", estate, collect(COLLECTOR, estate))}
    finding = findings["drifting/evidently/amount/psi"]
    assert finding.resource_name == "drifting amount psi (evidently)"
    assert finding.observed.split("; ")[0] == "drift_margin = -0.11"
    assert finding.expected == "drift_margin >= 0"
    assert (finding.owner, finding.owner_route) == ("data-eng", "tag:owner")
    assert findings["draft/evidently/(report)"].message.startswith(
        "evidence missing: ReadEvidentlyReport NoDriftReport: "
    )


def test_quality_floors(estate: Path) -> None:
    result = collect(COLLECTOR, estate)
    assert verdicts("model-quality-above-floor", estate, result) == {
        "healthy auc (model-monitor quality)": "PASS",  # 0.9 ≥ 0.85 (the model's floor)
        "healthy accuracy (model-monitor quality)": "PASS",  # 0.8 ≥ 0.75 (the default floor)
        "drifting accuracy (evidently)": "FAIL",  # 0.7 < 0.75
    }  # the Evidently precision/recall/f1 have no floor: no finding
    frame = result.tables["model_quality"].set_index("resource_id")
    assert frame.loc["drifting/evidently/accuracy", "quality_margin"] == pytest.approx(-0.05)


def test_a_declared_floor_no_report_carries_is_an_error(tmp_path: Path) -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    _execution("mm/m", "data", 1, ["a"], [])
    configs = _configs(
        tmp_path,
        [
            {
                "id": "m",
                "owner": "o",
                "purpose": "p",
                "status": "staging",
                "drift": {"model_monitor": f"s3://{BUCKET}/mm/m/"},
                "quality_floors": {"auc": 0.8},
            }
        ],
    )
    result = collect(COLLECTOR, configs)
    (finding,) = evaluate("model-quality-above-floor", configs, result)
    assert (finding.resource_name, str(finding.status)) == ("m auc", "ERROR")
    assert finding.message.startswith("evidence missing: ReadQualityMetric MissingMetric: ")


def test_evidence_on_disk_relative_to_the_config_dir(tmp_path: Path) -> None:
    configs = _configs(
        tmp_path,
        [
            {
                "id": "local",
                "owner": "o",
                "purpose": "p",
                "status": "production",
                "drift": {"evidently": "drift/reports", "reference": "drift/ref.csv", "current": "drift/cur.parquet"},
            }
        ],
    )
    folder = configs / "drift"
    (folder / "reports").mkdir(parents=True)
    snapshot = {"metrics": [{"metric_id": "ValueDrift(column=x,method=K-S p_value,threshold=0.05)", "value": 0.001}]}
    older = folder / "reports" / "old.json"
    older.write_text(json.dumps({"metrics": [{"metric_id": "ValueDrift(column=x,method=psi)", "value": 0.9}]}))
    newest = folder / "reports" / "new.json"
    newest.write_text(json.dumps(snapshot))
    REFERENCE.to_csv(folder / "ref.csv", index=False)
    CURRENT.to_parquet(folder / "cur.parquet", index=False)
    stale = (NOW - timedelta(days=30)).timestamp()
    os.utime(folder / "cur.parquet", (stale, stale))  # computed report time = when the current data was written
    os.utime(older, (stale, stale))
    result = collect(COLLECTOR, configs)
    assert result.gaps == []
    assert verdicts("model-drift-report-fresh", configs, result) == {
        "local evidently": "PASS",
        "local computed": "FAIL",
    }
    drift = verdicts("model-drift-within-threshold", configs, result)
    assert drift["local x ks_pvalue (evidently)"] == "FAIL"  # the newest file: p 0.001 < 0.01
    assert "local x psi (evidently)" not in drift
    assert drift["local y psi (computed)"] == "FAIL"
    assert drift["local id psi (computed)"] == "PASS"  # no `exclude`: every reference column is compared


def test_unreadable_evidence_is_an_error_never_a_pass(tmp_path: Path) -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    _put("data/ref.parquet", REFERENCE)
    _put("data/cur.parquet", CURRENT.drop(columns=["z"]))
    _put("ev/bad.json", b"{not json")
    configs = _configs(
        tmp_path,
        [
            {
                "id": "m",
                "owner": "o",
                "purpose": "p",
                "status": "production",
                "drift": {
                    "reference": f"s3://{BUCKET}/data/ref.parquet",
                    "current": f"s3://{BUCKET}/data/cur.parquet",
                    "features": ["x", "z"],
                    "evidently": f"s3://{BUCKET}/ev/bad.json",
                    "model_monitor": "s3://no-such-bucket/monitoring/",
                },
            },
        ],
    )
    result = collect(COLLECTOR, configs)
    findings = {f.resource_name: f for f in evaluate("model-drift-within-threshold", configs, result)}
    assert {k: str(f.status) for k, f in findings.items()} == {
        "m x psi (computed)": "PASS",
        "m x ks_pvalue (computed)": "PASS",
        "m z psi (computed)": "ERROR",
        "m drift report (evidently)": "ERROR",
        "m drift report (model-monitor)": "ERROR",
    }
    assert findings["m z psi (computed)"].message.startswith("evidence missing: EvaluateDriftReport MissingFeature: ")
    assert findings["m drift report (evidently)"].message.startswith(
        "evidence missing: ReadEvidentlyReport MalformedReport: "
    )
    assert findings["m drift report (model-monitor)"].message.startswith(
        "evidence missing: ReadModelMonitorReport NoSuchBucket: "
    )
    fresh = {f.resource_name: f for f in evaluate("model-drift-report-fresh", configs, result)}
    assert {k: str(f.status) for k, f in fresh.items()} == {
        "m computed": "PASS",
        "m evidently": "ERROR",
        "m model-monitor": "ERROR",
    }
    assert fresh["m model-monitor"].message == "evidence missing"  # the reason is on the report row and drift row
    reports = result.tables["model_drift_reports"].set_index("resource_id")
    assert reports.loc["m/model-monitor", "report_error"].startswith("ReadModelMonitorReport NoSuchBucket: ")
    messages = {g.resource_id: g.message for g in result.gaps}
    assert messages["m/computed/z/psi"] == "feature 'z' is not a column of the current data"


def test_every_table_is_written_to_parquet(estate: Path, tmp_path: Path) -> None:
    result = collect(COLLECTOR, estate)
    assert set(result.tables) == {"model_inventory", "model_drift_reports", "model_drift", "model_quality"}
    for name, frame in result.tables.items():
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
        assert len(pd.read_parquet(tmp_path / f"{name}.parquet")) == len(frame) > 0
        assert frame["resource_id"].is_unique, name


def test_model_monitor_output_on_disk_and_sibling_prefixes_kept_apart(tmp_path: Path) -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    _execution("mm/stale", "data", 1, ["age"], [])
    _execution("mm/stale-copy", "data", 0, ["age"], [{"feature_name": "age", "constraint_check_type": "x"}])
    configs = _configs(
        tmp_path,
        [
            {"id": "local", "owner": "o", "purpose": "p", "status": "production", "drift": {"model_monitor": "mon"}},
            {
                "id": "s3",
                "owner": "o",
                "purpose": "p",
                "status": "production",
                "drift": {"model_monitor": f"s3://{BUCKET}/mm/stale"},
            },  # no trailing slash: not mm/stale-copy
        ],
    )
    folder = configs / "mon" / "ep" / "hourly" / f"{NOW - timedelta(days=3):%Y/%m/%d/%H}"
    folder.mkdir(parents=True)
    (folder / "constraint_violations.json").write_text(
        json.dumps(
            {
                "violations": [
                    {
                        "feature_name": "f",
                        "constraint_check_type": "data_type_check",
                        "description": "String, not Integral",
                    }
                ]
            }
        )
    )
    result = collect(COLLECTOR, configs)
    assert result.gaps == []
    assert verdicts("model-drift-report-fresh", configs, result) == {
        "local model-monitor ep/hourly": "PASS",
        "s3 model-monitor data": "PASS",
    }
    assert verdicts("model-drift-within-threshold", configs, result) == {
        "local f constraint_violations (model-monitor ep/hourly)": "FAIL",
        "s3 age constraint_violations (model-monitor data)": "PASS",
    }
    reports = result.tables["model_drift_reports"].set_index("resource_id")
    assert reports.loc["local/model-monitor/ep/hourly", "report_age_days"] == 3
