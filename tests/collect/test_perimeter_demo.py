"""The demo estate's perimeter part: every new control has a resource that fails, and one that passes where it can."""

from __future__ import annotations

import pytest

from complyflow.core.config import AccountScope
from complyflow.demo import seed_demo_estate
from tests.support.evaluate import evaluate

pytestmark = pytest.mark.usefixtures("aws")

#: (control, resource name) of every perimeter FAIL in the demo (the nightly flow test expects exactly these).
DEMO_PERIMETER_FAILURES = {
    ("apigateway-method-authorization", "demo-labeling-api/dev GET /tasks"),
    ("apigateway-stage-throttling", "demo-labeling-api/dev"),
    ("apigateway-stage-access-logging", "demo-labeling-api/dev"),
    ("apigateway-domain-tls12", "legacy.demo-ml.example"),
    ("s3-account-public-access-blocked", "ml-platform"),
    ("s3-bucket-public-access-blocked", "demo-raw-uploads"),
    ("s3-ai-data-lifecycle-expiration", "demo-eu-features"),
    ("logs-ai-log-group-kms", "/aws/bedrock/agents/demo-support"),
}
#: One account, one verdict: the account-wide setting can only fail or pass in the demo, and it fails.
ACCOUNT_WIDE = {"s3-account-public-access-blocked"}


def test_each_perimeter_control_passes_and_fails_in_the_demo() -> None:
    seed_demo_estate()
    account = AccountScope(name="ml-platform", owner="platform-team")
    failures, passes = set(), set()
    for control in sorted({c for c, _ in DEMO_PERIMETER_FAILURES}):
        for finding in evaluate(control, regions=("us-east-1", "eu-west-1"), account=account):
            assert str(finding.status) in ("PASS", "FAIL"), (control, finding.resource_name, finding.message)
            (failures if str(finding.status) == "FAIL" else passes).add((control, finding.resource_name))
    assert failures == DEMO_PERIMETER_FAILURES
    assert {c for c, _ in passes} == {c for c, _ in DEMO_PERIMETER_FAILURES} - ACCOUNT_WIDE
