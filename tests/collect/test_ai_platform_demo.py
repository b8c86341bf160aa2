"""The demo estate's AI platform: every new control has violating and (where the estate allows) compliant examples."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from moto import mock_aws

from complyflow.core.config import AccountScope
from complyflow.demo import seed_demo_estate
from tests.support.evaluate import evaluate

#: The AI-platform violations of the demo estate, for the nightly flow's exact list.
DEMO_AI_PLATFORM_FAILURES = {
    ("bedrock-invocation-logging-enabled", "ml-platform eu-west-1 Bedrock invocation logging"),
    ("bedrock-invocation-logging-encrypted", "ml-platform us-east-1 Bedrock invocation logging"),
    ("bedrock-custom-model-cmk", "demo-summariser-poc"),
    ("sagemaker-training-network-isolation", "demo-fraud-train-poc"),
    ("sagemaker-training-volume-kms", "demo-fraud-train-poc"),
    ("sagemaker-training-inter-container-encryption", "demo-fraud-train-poc"),
    *(
        (control, endpoint)
        for control in ("sagemaker-endpoint-kms", "sagemaker-endpoint-data-capture", "sagemaker-endpoint-model-vpc")
        for endpoint in ("demo-churn-endpoint", "demo-fraud-endpoint", "demo-shadow-endpoint")
    ),
    ("model-inventory-registered", "demo-assistant-endpoint"),  # compliant, but not in configs/models.yaml
}
CONTROLS = (
    "bedrock-invocation-logging-enabled",
    "bedrock-invocation-logging-encrypted",
    "bedrock-custom-model-cmk",
    "sagemaker-training-network-isolation",
    "sagemaker-training-volume-kms",
    "sagemaker-training-inter-container-encryption",
    "sagemaker-endpoint-kms",
    "sagemaker-endpoint-data-capture",
    "sagemaker-endpoint-model-vpc",
)
#: One account and two regions: a region fails logging, so the one left logging shows one encryption verdict.
ONLY_FAILS = {"bedrock-invocation-logging-encrypted"}


@pytest.fixture(scope="module")
def demo_findings() -> dict[str, dict[str, str]]:
    with mock_aws():
        seed_demo_estate(datetime.now(UTC))
        account = AccountScope(name="ml-platform", owner="platform-team")
        return {
            control: {
                f.resource_name: str(f.status) for f in evaluate(control, ("us-east-1", "eu-west-1"), None, account)
            }
            for control in CONTROLS
        }


@pytest.mark.parametrize("control", CONTROLS)
def test_each_control_passes_and_fails_in_the_demo(demo_findings: dict, control: str) -> None:
    statuses = set(demo_findings[control].values())
    assert "ERROR" not in statuses
    assert statuses == ({"FAIL"} if control in ONLY_FAILS else {"PASS", "FAIL"})


def test_the_demo_failures_are_exactly_the_listed_ones(demo_findings: dict) -> None:
    failures = {(c, name) for c, found in demo_findings.items() for name, s in found.items() if s == "FAIL"}
    assert failures == {f for f in DEMO_AI_PLATFORM_FAILURES if f[0] in CONTROLS}
