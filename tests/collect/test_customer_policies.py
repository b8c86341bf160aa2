"""Customer-managed `*:*` policies: attached ones FAIL in every policy form, unattached ones are not judged."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.support.evaluate import verdicts

pytestmark = pytest.mark.usefixtures("aws")
CONTROL = "iam-no-full-admin-customer-policy"


def _policy(name: str, statement: dict, attach: bool = True) -> None:
    iam = boto3.client("iam")
    arn = iam.create_policy(
        PolicyName=name, PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )["Policy"]["Arn"]
    if attach:
        iam.create_group(GroupName=f"g-{name}")
        iam.attach_group_policy(GroupName=f"g-{name}", PolicyArn=arn)


def test_attached_full_admin_policies_fail_in_every_form() -> None:
    _policy("star-list", {"Effect": "Allow", "Action": ["*"], "Resource": ["*"]})
    _policy("star-star", {"Effect": "Allow", "Action": "*:*", "Resource": "*"})
    _policy("not-action", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    _policy("scoped", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    _policy("unattached-admin", {"Effect": "Allow", "Action": "*", "Resource": "*"}, attach=False)
    assert verdicts(CONTROL) == {"star-list": "FAIL", "star-star": "FAIL", "not-action": "FAIL", "scoped": "PASS"}
