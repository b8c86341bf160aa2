"""The account's IAM password policy, as the rule that applies (AI Security Policy 5.2, strong passwords).

Without a custom policy AWS applies its default (8 characters, no reuse prevention, symbols not
required): the row records that effective rule and `custom_policy = false`, so controls judge what
users actually face, never a missing value.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from complyflow.core.tables import Column, TableSpec, call
from tasks.collect.base import CollectContext, Collector

TABLE = "iam_password_policy"
#: AWS's default password policy (IAM user guide, "Default password policy").
AWS_DEFAULT = {"MinimumPasswordLength": 8, "PasswordReusePrevention": 0, "RequireSymbols": False}


def _policy(iam: Any) -> tuple[dict[str, Any], bool]:
    try:
        return iam.get_account_password_policy()["PasswordPolicy"], True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return dict(AWS_DEFAULT), False
        raise


def collect_password_policy(ctx: CollectContext) -> None:
    policy, custom = _policy(ctx.client("iam"))
    ctx.add(
        TABLE,
        resource_arn=f"arn:{ctx.partition}:iam::{ctx.account_id}:account-password-policy",
        resource_type="AwsIamPasswordPolicy",
        resource_name=ctx.account.name,
        custom_policy=custom,
        min_password_length=int(policy.get("MinimumPasswordLength", 8)),
        password_reuse_prevention=int(policy.get("PasswordReusePrevention") or 0),
        require_symbols=bool(policy.get("RequireSymbols")),
        require_numbers=bool(policy.get("RequireNumbers")),
        require_uppercase=bool(policy.get("RequireUppercaseCharacters")),
        require_lowercase=bool(policy.get("RequireLowercaseCharacters")),
        max_password_age_days=int(policy["MaxPasswordAge"]) if policy.get("MaxPasswordAge") else None,
    )


_FED = (
    "custom_policy",
    "min_password_length",
    "password_reuse_prevention",
    "require_symbols",
    "require_numbers",
    "require_uppercase",
    "require_lowercase",
    "max_password_age_days",
)

COLLECTOR = Collector(
    name="iam-password-policy",
    service="iam",
    scope="global",
    declares=(
        TableSpec(
            TABLE,
            "One row per account: the password rule IAM users face (the custom policy, else AWS's default).",
            (
                Column("custom_policy", "boolean", "the account has a custom password policy"),
                Column("min_password_length", "integer", "minimum password length"),
                Column("password_reuse_prevention", "integer", "previous passwords that cannot be reused; 0: none"),
                Column("require_symbols", "boolean", "at least one symbol required"),
                Column("require_numbers", "boolean", "at least one number required"),
                Column("require_uppercase", "boolean", "at least one upper-case letter required"),
                Column("require_lowercase", "boolean", "at least one lower-case letter required"),
                Column("max_password_age_days", "integer", "days before a password expires; null: never"),
            ),
        ),
    ),
    calls=(call("iam", "GetAccountPasswordPolicy", *_FED),),
    collect=collect_password_policy,
    description="IAM account password policy (custom, else AWS's default)",
)
