"""ECR scan on push: registry scanning rules override the repository flag; a denied read is an ERROR."""

from __future__ import annotations

import json

import boto3
import pytest

from tasks.collect.ecr import registry_decision
from tests.support.evaluate import collect, evaluate
from tests.support.faults import denied

pytestmark = pytest.mark.usefixtures("aws")
CONTROL = "ecr-repository-scan-on-push"


def _repo(name: str, scan: bool = False, owner: str = "ml-research") -> None:
    boto3.client("ecr", region_name="us-east-1").create_repository(
        repositoryName=name, imageScanningConfiguration={"scanOnPush": scan}, tags=[{"Key": "owner", "Value": owner}]
    )


def _verdicts(result: object | None = None) -> dict[str, str]:
    return {f.resource_name: str(f.status) for f in evaluate(CONTROL, result=result)}


def test_without_registry_rules_the_repository_setting_decides() -> None:
    _repo("serving", scan=True)
    _repo("training", scan=False, owner="data-eng")
    assert _verdicts() == {"serving": "PASS", "training": "FAIL"}
    frame = collect("ecr_repositories").tables["ecr_repositories"].set_index("resource_name")
    assert json.loads(frame.loc["training", "tags"]) == {"owner": "data-eng"}
    assert frame.loc["serving", "scan_source"] == "repository setting"


def test_registry_rules_override_the_repository_setting() -> None:
    _repo("prod-serving", scan=False)
    _repo("dev-scratch", scan=True)
    boto3.client("ecr", region_name="us-east-1").put_registry_scanning_configuration(
        scanType="ENHANCED",
        rules=[
            {"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [{"filter": "prod-*", "filterType": "WILDCARD"}]}
        ],
    )
    assert _verdicts() == {"prod-serving": "PASS", "dev-scratch": "FAIL"}


@pytest.mark.parametrize(
    ("rules", "repository", "expected"),
    [
        ([], "any", None),
        ([{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "*"}]}], "any/name", True),
        ([{"scanFrequency": "MANUAL", "repositoryFilters": [{"filter": "*"}]}], "any", False),
        ([{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "ml-*"}]}], "ml-a", True),
        ([{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "ml-*"}]}], "xml-a", False),
        ([{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "ML-*"}]}], "ml-a", False),
        ([{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "a.b"}]}], "axb", False),
    ],
)
def test_registry_rule_matching(rules: list, repository: str, expected: bool | None) -> None:
    assert registry_decision(rules, repository) is expected


def test_denied_registry_configuration_is_an_error_only_for_scanning() -> None:
    _repo("serving", scan=True)
    with denied("GetRegistryScanningConfiguration"):
        result = collect("ecr_repositories")
    (gap,) = result.gaps
    assert set(gap.columns) == {"scan_on_push", "scan_source", "registry_scan_type"}
    assert _verdicts(result) == {"serving": "ERROR"}
