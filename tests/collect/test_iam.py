"""IAM access-review rules: each on its compliant, violating and not-applicable variants, with boundaries."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from complyflow.demo import UserSpec, age_credentials, seed_iam
from tasks.collect.iam import grants_full_admin
from tests.support.evaluate import collect, verdicts


def given_users(*users: UserSpec) -> None:
    seed_iam(users)
    age_credentials(users, datetime.now(UTC))


@pytest.mark.usefixtures("aws")
def test_console_user_without_mfa_fails_and_users_without_password_are_not_applicable() -> None:
    given_users(
        UserSpec("with-mfa", "t", console=True, mfa=True, password_unused_days=1),
        UserSpec("without-mfa", "t", console=True, mfa=False, password_unused_days=1),
        UserSpec("api-only", "t", keys=(("Active", 1, 1),)),
    )
    assert verdicts("iam-user-console-mfa") == {"with-mfa": "PASS", "without-mfa": "FAIL"}


@pytest.mark.usefixtures("aws")
def test_active_key_age_boundaries_89_90_91_and_inactive_keys() -> None:
    given_users(
        UserSpec("k89", "t", keys=(("Active", 89, 1),)),
        UserSpec("k90", "t", keys=(("Active", 90, 1),)),
        UserSpec("k91", "t", keys=(("Active", 91, 1),)),
        UserSpec("old-inactive", "t", keys=(("Inactive", 400, 1),)),
        UserSpec("two-keys", "t", keys=(("Active", 10, 1), ("Active", 200, 1))),
    )
    assert verdicts("iam-access-key-rotation") == {
        "k89 access key 1": "PASS",
        "k90 access key 1": "PASS",
        "k91 access key 1": "FAIL",
        "two-keys access key 1": "PASS",
        "two-keys access key 2": "FAIL",
    }


@pytest.mark.usefixtures("aws")
def test_unused_active_key_counts_from_creation_when_never_used() -> None:
    given_users(
        UserSpec("used-90", "t", keys=(("Active", 300, 90),)),
        UserSpec("used-91", "t", keys=(("Active", 300, 91),)),
        UserSpec("never-used-new", "t", keys=(("Active", 30, None),)),
        UserSpec("never-used-old", "t", keys=(("Active", 91, None),)),
        UserSpec("inactive-unused", "t", keys=(("Inactive", 300, 300),)),
    )
    assert verdicts("iam-access-key-unused") == {
        "used-90 access key 1": "PASS",
        "used-91 access key 1": "FAIL",
        "never-used-new access key 1": "PASS",
        "never-used-old access key 1": "FAIL",
    }


@pytest.mark.usefixtures("aws")
def test_password_unused_counts_from_user_creation_when_never_used() -> None:
    given_users(
        UserSpec("login-90", "t", console=True, mfa=True, password_unused_days=90),
        UserSpec("login-91", "t", console=True, mfa=True, password_unused_days=91),
        UserSpec("never-new", "t", console=True, mfa=True, password_unused_days=None, created_days=10),
        UserSpec("never-old", "t", console=True, mfa=True, password_unused_days=None, created_days=200),
        UserSpec("no-console", "t", keys=(("Active", 1, 1),)),
    )
    assert verdicts("iam-password-unused") == {
        "login-90": "PASS",
        "login-91": "FAIL",
        "never-new": "PASS",
        "never-old": "FAIL",
    }


@pytest.mark.usefixtures("aws")
def test_administrator_access_attached_directly() -> None:
    given_users(UserSpec("admin", "t", admin=True), UserSpec("plain", "t"))
    iam = boto3.client("iam")
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    given_users(UserSpec("via-group", "t"))
    iam.add_user_to_group(GroupName="admins", UserName="via-group")
    assert verdicts("iam-user-no-admin-policy") == {"admin": "FAIL", "plain": "PASS", "via-group": "PASS"}


@pytest.mark.usefixtures("aws")
def test_root_mfa_comes_from_the_account_summary() -> None:
    assert verdicts("iam-root-mfa") == {"test": "FAIL"}
    from moto.iam.models import iam_backends

    # moto has no API to enable root MFA: set its account summary directly.
    iam_backends["123456789012"]["global"].account_summary._account_mfa_enabled = 1
    assert verdicts("iam-root-mfa") == {"test": "PASS"}


@pytest.mark.usefixtures("aws")
def test_access_review_lists_users_and_roles_with_effective_admin() -> None:
    given_users(
        UserSpec("direct", "alice@example.com", admin=True),
        UserSpec("grouped", "bob@example.com"),
        UserSpec("inline", None),
        UserSpec("plain", "carol@example.com"),
    )
    iam = boto3.client("iam")
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.add_user_to_group(GroupName="admins", UserName="grouped")
    iam.put_user_policy(
        UserName="inline",
        PolicyName="everything",
        PolicyDocument=('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'),
    )
    iam.create_role(RoleName="pipeline", AssumeRolePolicyDocument="{}")
    frame = collect("iam_principals").tables["iam_principals"].set_index("resource_name")
    assert frame.loc["direct", "admin_via"] == "attached policy"
    assert frame.loc["grouped", "admin_via"] == "group"
    assert frame.loc["grouped", "groups"] == "admins"
    assert frame.loc["inline", "admin_via"] == "inline policy"
    assert not frame.loc["plain", "is_admin"]
    assert frame.loc["pipeline", "resource_type"] == "AwsIamRole"


def test_full_admin_detection_needs_allow_star_on_star() -> None:
    assert grants_full_admin({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    assert grants_full_admin({"Statement": {"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}})
    assert not grants_full_admin({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    assert not grants_full_admin({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
    assert not grants_full_admin({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::x"}]})
