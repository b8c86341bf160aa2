"""Discovery: SageMaker endpoints and the models they serve, matched against the inventory."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import yaml

from complyflow.demo import DEMO_ACCOUNT
from complyflow.demo.models import _endpoint
from tasks.collect.sagemaker_models import COLLECTOR
from tests.drift.support import collect, evaluate, model_configs, verdicts

pytestmark = pytest.mark.usefixtures("aws")
DEFAULTS = {"thresholds": {"psi_max": 0.2, "ks_pvalue_min": 0.01, "constraint_violations_max": 0}, "psi_bins": 10}
CONTROL = "model-inventory-registered"


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    folder = model_configs(tmp_path / "configs")
    (folder / "models.yaml").write_text(
        yaml.safe_dump(
            {
                "defaults": DEFAULTS,
                "models": [
                    {
                        "id": "churn",
                        "owner": "ml",
                        "purpose": "p",
                        "status": "production",
                        "deployment": {"sagemaker_endpoint": "churn-ep", "region": "us-east-1"},
                    },
                    {
                        "id": "fraud",
                        "owner": "ml",
                        "purpose": "p",
                        "status": "staging",
                        "deployment": {"sagemaker_model": "fraud-model-v2"},
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    return folder


def _sagemaker(region: str = "us-east-1") -> object:
    return boto3.client("sagemaker", region_name=region)


def test_endpoints_are_registered_by_name_or_by_served_model(configs: Path) -> None:
    _endpoint(_sagemaker(), "churn-ep", "churn-model", "ml-research")
    _endpoint(_sagemaker(), "fraud-canary", "fraud-model-v2", "data-eng")
    _endpoint(_sagemaker(), "shadow-ep", "shadow-model", "data-eng")
    _endpoint(_sagemaker("eu-west-1"), "churn-ep", "churn-model", "ml-research")  # the inventory pins us-east-1
    result = collect(COLLECTOR, configs, regions=("us-east-1", "eu-west-1"))
    assert result.gaps == []
    frame = result.tables["sagemaker_endpoints"].set_index(["region", "resource_name"])
    assert frame.loc[("us-east-1", "fraud-canary"), "inventory_model_id"] == "fraud"
    assert frame.loc[("us-east-1", "fraud-canary"), "inventory_status"] == "staging"
    assert json.loads(frame.loc[("us-east-1", "churn-ep"), "served_models"]) == ["churn-model"]
    findings = {(f.region, f.resource_name): (str(f.status), f.owner) for f in evaluate(CONTROL, configs, result)}
    assert findings == {
        ("us-east-1", "churn-ep"): ("PASS", "ml-research"),
        ("us-east-1", "fraud-canary"): ("PASS", "data-eng"),
        ("us-east-1", "shadow-ep"): ("FAIL", "data-eng"),
        ("eu-west-1", "churn-ep"): ("FAIL", "ml-research"),
    }


def test_failed_and_deleting_endpoints_are_not_applicable(configs: Path) -> None:
    from moto.sagemaker.models import sagemaker_backends

    _endpoint(_sagemaker(), "broken-ep", "broken-model", "data-eng")
    _endpoint(_sagemaker(), "leaving-ep", "leaving-model", "data-eng")
    _endpoint(_sagemaker(), "live-ep", "live-model", "data-eng")
    endpoints = sagemaker_backends[DEMO_ACCOUNT]["us-east-1"].endpoints
    endpoints["broken-ep"].endpoint_status = "Failed"  # moto has no API to fail an endpoint
    endpoints["leaving-ep"].endpoint_status = "Deleting"
    assert verdicts(CONTROL, configs, collect(COLLECTOR, configs)) == {"live-ep": "FAIL"}


def test_unknown_served_models_make_an_unmatched_endpoint_an_error_not_a_pass(configs: Path) -> None:
    sm = _sagemaker()
    _endpoint(sm, "orphan-ep", "orphan-model", "data-eng")
    _endpoint(sm, "churn-ep", "churn-model", "ml-research")
    for name in ("orphan-ep", "churn-ep"):
        sm.delete_endpoint_config(EndpointConfigName=f"{name}-config")  # DescribeEndpointConfig now fails
    result = collect(COLLECTOR, configs)
    assert {g.operation for g in result.gaps} == {"DescribeEndpoint"}
    findings = {f.resource_name: f for f in evaluate(CONTROL, configs, result)}
    assert str(findings["orphan-ep"].status) == "ERROR"
    assert findings["orphan-ep"].message.startswith("evidence missing: DescribeEndpoint")
    assert str(findings["churn-ep"].status) == "PASS"  # matched by its name, its models do not matter


def test_a_broken_inventory_is_an_evidence_gap_for_the_whole_scope(configs: Path) -> None:
    _endpoint(_sagemaker(), "churn-ep", "churn-model", "ml-research")
    (configs / "models.yaml").write_text("defaults: {}\nmodels: []\n", encoding="utf-8")
    result = collect(COLLECTOR, configs)
    (gap,) = result.gaps
    assert (gap.error_code, gap.resource_id) == ("ConfigError", None)
    assert "models.yaml: entry 'defaults': invalid" in gap.message
    (finding,) = evaluate(CONTROL, configs, result)
    assert (str(finding.status), finding.resource_type) == ("ERROR", "EvidenceScope")
