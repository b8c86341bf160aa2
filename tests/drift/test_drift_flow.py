"""The drift-monitoring flow end to end on the demo models: exact findings, evidence and owner digests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from moto import mock_aws

import tasks.collect as registry
from complyflow.core.config import load_config
from complyflow.demo.models import seed_models
from flows.drift import drift_control_ids, drift_monitoring
from tasks.collect import model_drift, sagemaker_models
from tests.drift.support import MODEL_CONTROLS, model_configs
from tests.support.api_calls import recorded_actions

#: What the model collectors call: the statement the lead adds to configs/iam-policy.json (all read-only).
MODEL_IAM_ACTIONS = {
    "sagemaker:ListEndpoints",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:ListTags",
    "s3:ListBucket",
    "s3:GetObject",
}
CALLED_ACTIONS: list[str] = []

#: The demo models' violations, keyed like tests/test_nightly_flow.py's EXPECTED_FAILURES.
DEMO_MODEL_FAILURES = {
    ("model-inventory-registered", "demo-shadow-endpoint"),
    ("model-inventory-complete", "pricing-experiment"),
    ("model-drift-report-fresh", "fraud-detector model-monitor fraud-data-quality"),
    ("model-drift-within-threshold", "fraud-detector amount constraint_violations (model-monitor fraud-data-quality)"),
    ("model-drift-within-threshold", "fraud-detector amount psi (evidently)"),
    ("model-drift-within-threshold", "fraud-detector amount psi (computed)"),
    ("model-drift-within-threshold", "fraud-detector amount ks_pvalue (computed)"),
    ("model-quality-above-floor", "fraud-detector accuracy (evidently)"),
    # governance records (configs/models.yaml): each control also passes for another demo model
    ("model-risk-assessment-current", "fraud-detector"),
    ("model-data-use-documented", "fraud-detector"),
    ("model-pia-current", "churn-classifier"),
    ("model-fairness-report-current", "credit-limit-advisor"),
    ("model-ethics-approval", "credit-limit-advisor"),
    ("model-documentation-linked", "fraud-detector"),
    ("model-human-oversight-defined", "credit-limit-advisor"),
}
#: The demo models' governance passes: with DEMO_MODEL_FAILURES, every governance control PASSes and FAILs.
DEMO_GOVERNANCE_PASSES = {
    ("model-risk-assessment-current", "churn-classifier"),
    ("model-risk-assessment-current", "credit-limit-advisor"),
    ("model-data-use-documented", "churn-classifier"),
    ("model-data-use-documented", "pricing-experiment"),
    ("model-data-use-documented", "credit-limit-advisor"),
    ("model-pia-current", "fraud-detector"),
    ("model-pia-current", "credit-limit-advisor"),
    ("model-fairness-report-current", "fraud-detector"),
    ("model-ethics-approval", "fraud-detector"),
    ("model-documentation-linked", "churn-classifier"),
    ("model-documentation-linked", "credit-limit-advisor"),
    ("model-human-oversight-defined", "fraud-detector"),
}


@pytest.fixture(scope="module")
def drift_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    configs = model_configs(tmp_path_factory.mktemp("drift") / "configs")
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        # Until tasks/collect/__init__.py registers the model collectors, register them here.
        missing = [c for c in (sagemaker_models.COLLECTOR, model_drift.COLLECTOR) if c not in registry.COLLECTORS]
        patch.setattr(registry, "COLLECTORS", (*registry.COLLECTORS, *missing))
        patch.setattr(registry, "TABLE_SOURCES", {t: c for c in registry.COLLECTORS for t in c.tables})
        seed_models(datetime.now(UTC))
        with recorded_actions() as actions:
            result = drift_monitoring(config_dir=str(configs), evidence_dir=str(configs.parent / "evidence"))
        CALLED_ACTIONS[:] = actions
        yield result


def _findings(result: dict) -> list[dict]:
    return json.loads((Path(result["run_dir"]) / "findings" / "findings.json").read_text())["findings"]


def test_the_flow_runs_exactly_the_model_controls(drift_run: dict) -> None:
    assert drift_run["flow"] == "drift"
    assert sorted(drift_run["scope"]["controls"]) == sorted(MODEL_CONTROLS)


def test_the_model_collectors_make_only_read_calls_listed_for_the_iam_policy(drift_run: dict) -> None:
    assert set(CALLED_ACTIONS) == MODEL_IAM_ACTIONS


def test_exact_findings_of_the_demo_models(drift_run: dict) -> None:
    findings = _findings(drift_run)
    failures = {(f["control_id"], f["resource_name"]) for f in findings if f["status"] == "FAIL"}
    assert failures == DEMO_MODEL_FAILURES
    assert [f for f in findings if f["status"] == "ERROR"] == []
    passes = {(f["control_id"], f["resource_name"]) for f in findings if f["status"] == "PASS"}
    assert ("model-drift-within-threshold", "churn-classifier monthly_charges ks_pvalue (computed)") in passes
    assert ("model-drift-report-fresh", "churn-classifier model-monitor churn-data-quality") in passes
    assert ("model-quality-above-floor", "churn-classifier auc (model-monitor churn-model-quality)") in passes
    assert ("model-inventory-registered", "demo-churn-endpoint") in passes
    governance = {c for c, _ in DEMO_GOVERNANCE_PASSES}
    assert {(c, n) for c, n in passes if c in governance} == DEMO_GOVERNANCE_PASSES
    assert not [f for f in findings if f["resource_name"].startswith("legacy-scoring ")]  # retired: not monitored


def test_findings_go_to_model_owners(drift_run: dict) -> None:
    owners = {(f["control_id"], f["resource_name"]): f["owner"] for f in _findings(drift_run) if f["status"] == "FAIL"}
    assert owners[("model-drift-within-threshold", "fraud-detector amount psi (computed)")] == "data-eng"
    assert owners[("model-inventory-registered", "demo-shadow-endpoint")] == "ml-research"
    assert owners[("model-inventory-complete", "pricing-experiment")] == "platform-team"  # no owner: the account's
    outbox = Path(drift_run["notifications"]["outbox_file"])
    records = [json.loads(line) for line in outbox.read_text().splitlines()]
    digests = [r for r in records if r.get("kind") == "message" and r.get("purpose") == "digest"]
    assert {d["owner"] for d in digests} == {"data-eng", "ml-research", "platform-team"}


def test_the_computed_drift_report_is_in_the_sealed_evidence(drift_run: dict) -> None:
    run_dir = Path(drift_run["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert {
        "evidence/model_drift.parquet",
        "evidence/model_inventory.parquet",
        "evidence/model_quality.parquet",
        "evidence/model_drift_reports.parquet",
        "evidence/sagemaker_endpoints.parquet",
    } <= set(manifest["files"])
    drift = pd.read_parquet(run_dir / "evidence" / "model_drift.parquet")
    computed = drift[drift["source"] == "computed"].set_index("resource_id")
    assert set(computed.index) == {
        "churn-classifier/computed/tenure_months/psi",
        "churn-classifier/computed/tenure_months/ks_pvalue",
        "churn-classifier/computed/monthly_charges/psi",
        "churn-classifier/computed/monthly_charges/ks_pvalue",
        "churn-classifier/computed/plan/psi",
        "fraud-detector/computed/amount/psi",
        "fraud-detector/computed/amount/ks_pvalue",
        "fraud-detector/computed/hour/psi",
        "fraud-detector/computed/hour/ks_pvalue",
        "fraud-detector/computed/merchant_category/psi",
    }
    assert computed.loc["churn-classifier/computed/tenure_months/psi", "value"] == 0.0  # same distribution
    amount = computed.loc["fraud-detector/computed/amount/psi"]
    assert amount["value"] > amount["threshold"] == 0.2
    assert computed.loc["fraud-detector/computed/merchant_category/psi", "threshold"] == 0.25  # feature override
    assert set(computed["owner"]) == {"ml-research", "data-eng"}


def test_no_enabled_model_control_is_a_clear_error(tmp_path: Path) -> None:
    configs = model_configs(tmp_path / "configs")
    for control in MODEL_CONTROLS:
        path = configs / "controls" / f"{control}.yaml"
        path.write_text(path.read_text() + "enabled: false\n")
    with pytest.raises(ValueError, match="no enabled control reads the model tables"):
        drift_control_ids(load_config(configs))
    assert sorted(drift_control_ids(load_config(model_configs(tmp_path / "enabled")))) == sorted(MODEL_CONTROLS)
