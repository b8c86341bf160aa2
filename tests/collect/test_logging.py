"""Logging rules: log retention, CloudTrail multi-region, log file validation, regional coverage."""

from __future__ import annotations

import boto3
import pandas as pd
import pytest

from complyflow.demo import _bucket
from tests.support.evaluate import collect, evaluate, verdicts

pytestmark = pytest.mark.usefixtures("aws")


def test_log_retention_of_at_least_365_days_and_never_expire_fails() -> None:
    logs = boto3.client("logs")
    for name, days in (("/r/364", 364), ("/r/365", 365), ("/r/3653", 3653), ("/r/never", None)):
        logs.create_log_group(logGroupName=name)
        if days:
            logs.put_retention_policy(logGroupName=name, retentionInDays=days)
    assert verdicts("logs-retention-365") == {"/r/364": "FAIL", "/r/365": "PASS", "/r/3653": "PASS"}
    # A group that never expires: no misleading 0 days, its own control, and words for people.
    policy = {f.resource_name: f for f in evaluate("logs-retention-policy-set")}
    assert {name: str(f.status) for name, f in policy.items()} == {
        "/r/364": "PASS",
        "/r/365": "PASS",
        "/r/3653": "PASS",
        "/r/never": "FAIL",
    }
    assert policy["/r/never"].observed == "never_expires = True"
    frame = collect("log_groups").tables["log_groups"].set_index("resource_name")
    assert pd.isna(frame.loc["/r/never", "retention_days"]) and bool(frame.loc["/r/never", "never_expires"])


def test_log_group_arn_has_no_trailing_wildcard_and_owner_comes_from_tags() -> None:
    boto3.client("logs").create_log_group(logGroupName="/app/x", tags={"owner": "team-x"})
    (finding,) = evaluate("logs-retention-policy-set")
    assert finding.resource_arn == "arn:aws:logs:us-east-1:123456789012:log-group:/app/x"
    assert (finding.owner, finding.owner_route) == ("team-x", "tag:owner")


def _trail(name: str, region: str, multi: bool, validation: bool, logging: bool) -> None:
    ct = boto3.client("cloudtrail", region_name=region)
    ct.create_trail(Name=name, S3BucketName="trail-logs", IsMultiRegionTrail=multi, EnableLogFileValidation=validation)
    if logging:
        ct.start_logging(Name=name)


def test_trail_settings_are_checked_where_the_trail_lives() -> None:
    _bucket("trail-logs", "us-east-1", None, "AES256", False)
    _trail("good", "us-east-1", True, True, True)
    _trail("single", "eu-west-1", False, True, True)
    _trail("unvalidated", "eu-west-1", False, False, False)
    regions = ("us-east-1", "eu-west-1")
    assert verdicts("cloudtrail-multi-region", regions=regions) == {
        "good": "PASS",
        "single": "FAIL",
        "unvalidated": "FAIL",
    }
    assert verdicts("cloudtrail-log-file-validation", regions=regions) == {
        "good": "PASS",
        "single": "PASS",
        "unvalidated": "FAIL",
    }


def test_region_coverage_by_a_logging_multi_region_trail() -> None:
    _bucket("trail-logs", "us-east-1", None, "AES256", False)
    _trail("org", "us-east-1", True, True, True)
    assert verdicts("cloudtrail-region-coverage", regions=("us-east-1", "eu-west-1")) == {
        "test us-east-1": "PASS",
        "test eu-west-1": "PASS",
    }


def test_region_without_logging_trail_fails_even_with_a_stopped_trail() -> None:
    _bucket("trail-logs", "us-east-1", None, "AES256", False)
    _trail("home-only", "us-east-1", False, True, True)
    _trail("stopped-multi", "eu-west-1", True, True, False)
    assert verdicts("cloudtrail-region-coverage", regions=("us-east-1", "eu-west-1", "ap-south-1")) == {
        "test us-east-1": "PASS",
        "test eu-west-1": "FAIL",
        "test ap-south-1": "FAIL",
    }


def test_region_with_no_trail_at_all_fails() -> None:
    result = collect("cloudtrail_regions", regions=("eu-west-1",))
    assert result.tables["cloudtrail_regions"]["has_logging_trail"].tolist() == [False]
    assert verdicts("cloudtrail-region-coverage", regions=("eu-west-1",)) == {"test eu-west-1": "FAIL"}
