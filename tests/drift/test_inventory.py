"""The model inventory schema: thresholds, floors, endpoint matching and actionable errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from complyflow.core.config import ConfigError
from tasks.drift.inventory import load_inventory, metric_name
from tests.drift.support import REPO_CONFIGS

DEFAULTS = {"thresholds": {"psi_max": 0.2, "ks_pvalue_min": 0.01, "constraint_violations_max": 0}, "psi_bins": 10}


def _write(folder: Path, data: object) -> Path:
    (folder / "models.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return folder


def test_the_shipped_inventory_loads() -> None:
    inventory = load_inventory(REPO_CONFIGS)
    assert [m.id for m in inventory.models] == [
        "churn-classifier",
        "fraud-detector",
        "credit-limit-advisor",
        "pricing-experiment",
        "legacy-scoring",
    ]
    assert [m.missing_fields() for m in inventory.models] == [[], [], [], ["owner"], []]
    assert inventory.relative_dates  # the demo inventory: its governance dates never age


def test_thresholds_resolve_feature_then_model_then_default(tmp_path: Path) -> None:
    inventory = load_inventory(
        _write(
            tmp_path,
            {
                "defaults": DEFAULTS,
                "models": [{"id": "m", "thresholds": {"psi_max": 0.3, "features": {"amount": {"psi_max": 0.5}}}}],
            },
        )
    )
    model = inventory.models[0]
    assert inventory.threshold(model, "amount", "psi_max") == 0.5
    assert inventory.threshold(model, "hour", "psi_max") == 0.3
    assert inventory.threshold(model, "amount", "ks_pvalue_min") == 0.01
    assert inventory.threshold(model, "amount", "constraint_violations_max") == 0


def test_quality_floors_merge_defaults_and_model_with_one_spelling(tmp_path: Path) -> None:
    model = {"id": "m", "quality_floors": {"AUC": 0.8, "F1Score": 0.5}}
    inventory = load_inventory(
        _write(tmp_path, {"defaults": {**DEFAULTS, "quality_floors": {"roc_auc": 0.7}}, "models": [model]})
    )
    assert inventory.quality_floors(inventory.models[0]) == {"auc": 0.8, "f1": 0.5}
    assert [metric_name(n) for n in ("RocAuc", "roc_auc", "F1Score", "accuracy", "true_positive_rate")] == [
        "auc",
        "auc",
        "f1",
        "accuracy",
        "true_positive_rate",
    ]


def test_endpoint_matching_by_name_or_served_model_within_account_and_region(tmp_path: Path) -> None:
    inventory = load_inventory(
        _write(
            tmp_path,
            {
                "defaults": DEFAULTS,
                "models": [
                    {"id": "by-endpoint", "deployment": {"sagemaker_endpoint": "Churn-EP", "region": "eu-west-1"}},
                    {"id": "by-model", "deployment": {"sagemaker_model": "fraud-v3", "account": "111122223333"}},
                ],
            },
        )
    )
    assert inventory.for_endpoint("123456789012", "eu-west-1", "churn-ep", []).id == "by-endpoint"
    assert inventory.for_endpoint("123456789012", "us-east-1", "churn-ep", []) is None
    assert inventory.for_endpoint("111122223333", "us-east-1", "any", ["fraud-v3"]).id == "by-model"
    assert inventory.for_endpoint("123456789012", "us-east-1", "any", ["fraud-v3"]) is None


def test_blank_required_fields_count_as_missing(tmp_path: Path) -> None:
    inventory = load_inventory(
        _write(tmp_path, {"defaults": DEFAULTS, "models": [{"id": "m", "owner": "  ", "purpose": "scores"}]})
    )
    assert inventory.models[0].missing_fields() == ["owner", "status"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"models": []}, "entry 'defaults': invalid\n  field thresholds: Field required"),
        ({"defaults": {**DEFAULTS, "thresholds": {"psi_max": 0.2}}, "models": []}, "field thresholds.ks_pvalue_min"),
        ({"defaults": DEFAULTS, "models": [{"id": "m", "status": "prod"}]}, "entry 'm': invalid\n  field status"),
        (
            {"defaults": DEFAULTS, "models": [{"id": "m", "drift": {"reference": "r.csv"}}]},
            "reference and current datasets go together",
        ),
        ({"defaults": DEFAULTS, "models": [{"id": "m", "drift": {}}]}, "name at least one source"),
        (
            {"defaults": DEFAULTS, "models": [{"id": "m", "deployment": {"region": "us-east-1"}}]},
            "give sagemaker_endpoint and/or sagemaker_model",
        ),
        ({"defaults": DEFAULTS, "models": [{"id": "m"}, {"id": "m"}]}, "duplicate model id(s): m"),
        (
            {"defaults": DEFAULTS, "models": [{"id": "m", "thresholds": {"ks_pvalue_min": 1.5}}]},
            "field thresholds.ks_pvalue_min",
        ),
        ({"defaults": DEFAULTS, "models": [{"id": "m", "ownr": "x"}]}, "field ownr: Extra inputs are not permitted"),
        ({"defaults": DEFAULTS, "models": {"m": {}}}, "'models' must be a list"),
        (["m"], "expected a mapping with 'defaults' and 'models'"),
    ],
)
def test_malformed_inventories_name_file_entry_and_field(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_inventory(_write(tmp_path, data))
    assert str(tmp_path / "models.yaml") in str(raised.value)
    assert message in str(raised.value)


def test_a_missing_inventory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="models.yaml: file not found"):
        load_inventory(tmp_path)
    with pytest.raises(ConfigError, match="no config directory"):
        load_inventory(None)
