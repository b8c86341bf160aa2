"""GuardDuty per region and the account password rule: edges of each control, and a denied call is ERROR."""

from __future__ import annotations

import boto3
import pytest

from tests.support.evaluate import evaluate, verdicts
from tests.support.faults import denied

pytestmark = pytest.mark.usefixtures("aws")
REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")


def test_every_region_needs_an_enabled_detector() -> None:
    boto3.client("guardduty", region_name="us-east-1").create_detector(Enable=True)
    boto3.client("guardduty", region_name="eu-west-1").create_detector(Enable=False)
    statuses = {f.region: str(f.status) for f in evaluate("guardduty-detector-enabled", regions=REGIONS)}
    assert statuses == {"us-east-1": "PASS", "eu-west-1": "FAIL", "ap-south-1": "FAIL"}


def test_denied_detector_listing_is_an_error_for_that_region_only() -> None:
    boto3.client("guardduty", region_name="us-east-1").create_detector(Enable=True)
    with denied("ListDetectors", "eu-west-1"):
        found = evaluate("guardduty-detector-enabled", regions=("us-east-1", "eu-west-1"))
    assert {(f.region, str(f.status)) for f in found} == {("us-east-1", "PASS"), ("eu-west-1", "ERROR")}


def test_without_a_custom_policy_aws_default_fails_every_rule() -> None:
    for rule in ("length", "reuse", "symbols"):
        (finding,) = evaluate(f"iam-password-policy-{rule}")
        assert str(finding.status) == "FAIL", rule
        assert "custom_policy = False" in finding.observed


@pytest.mark.parametrize(
    ("length", "reuse", "symbols", "expected"),
    [
        (14, 24, True, ("PASS", "PASS", "PASS")),
        (13, 24, True, ("FAIL", "PASS", "PASS")),
        (128, 23, True, ("PASS", "FAIL", "PASS")),
        (14, 24, False, ("PASS", "PASS", "FAIL")),
    ],
)
def test_password_rule_edges(length: int, reuse: int, symbols: bool, expected: tuple[str, ...]) -> None:
    boto3.client("iam").update_account_password_policy(
        MinimumPasswordLength=length, PasswordReusePrevention=reuse, RequireSymbols=symbols
    )
    got = tuple(next(iter(verdicts(f"iam-password-policy-{r}").values())) for r in ("length", "reuse", "symbols"))
    assert got == expected


def test_denied_password_policy_read_is_an_error() -> None:
    with denied("GetAccountPasswordPolicy"):
        (finding,) = evaluate("iam-password-policy-length")
    assert str(finding.status) == "ERROR" and "AccessDenied" in finding.message
