"""IAM evidence for access reviews, from three account-wide calls instead of one call per user.

- the credential report (passwords, MFA, access-key ages and last use),
- GetAccountAuthorizationDetails (users, roles, groups, policies, tags),
- GetAccountSummary (root MFA).
"""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime
from typing import Any

from complyflow.core.tables import Column, TableSpec, call
from tasks.collect.base import CollectContext, Collector, tag_dict
from tasks.collect.policy_documents import grants_full_admin

ADMIN_POLICY_ARN_SUFFIX = ":iam::aws:policy/AdministratorAccess"
REPORT_WAIT_SECONDS = 60


def _parse_time(value: str) -> datetime | None:
    if value in ("", "N/A", "no_information", "not_supported"):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def credential_report(iam: Any) -> list[dict[str, str]]:
    """Generate (if needed) and read the credential report, waiting a bounded time for it."""
    deadline = time.monotonic() + REPORT_WAIT_SECONDS
    pause = 0.25  # a small account's report is ready in well under a second; back off up to 2 s
    while iam.generate_credential_report()["State"] != "COMPLETE":
        if time.monotonic() > deadline:
            raise TimeoutError("IAM credential report not ready after 60 s")
        time.sleep(pause)
        pause = min(2.0, pause * 2)
    content = iam.get_credential_report()["Content"]
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    return list(csv.DictReader(io.StringIO(text)))


def _is_admin_policy(arn: str, managed_docs: dict[str, Any]) -> bool:
    if arn.endswith(ADMIN_POLICY_ARN_SUFFIX):
        return True
    document = managed_docs.get(arn)
    return document is not None and grants_full_admin(document)


def _authorization_details(iam: Any) -> dict[str, list[dict[str, Any]]]:
    details: dict[str, list[dict[str, Any]]] = {"users": [], "roles": [], "groups": [], "policies": []}
    paginator = iam.get_paginator("get_account_authorization_details")
    # AWS-managed policies are left out: over a thousand documents, and the one that grants `*:*`
    # (AdministratorAccess) is recognised by its ARN.
    pages = paginator.paginate(
        Filter=["User", "Role", "Group", "LocalManagedPolicy"], PaginationConfig={"PageSize": 1000}
    )  # AWS's maximum: the fewest calls
    for page in pages:
        details["users"] += page.get("UserDetailList", [])
        details["roles"] += page.get("RoleDetailList", [])
        details["groups"] += page.get("GroupDetailList", [])
        details["policies"] += page.get("Policies", [])
    return details


def _default_version_document(policy: dict[str, Any]) -> Any:
    for version in policy.get("PolicyVersionList", []):
        if version.get("IsDefaultVersion"):
            return version.get("Document")
    return None


def collect_iam(ctx: CollectContext) -> None:
    iam = ctx.client()
    summary = iam.get_account_summary()["SummaryMap"]
    ctx.add(
        "iam_account",
        resource_arn=f"arn:aws:iam::{ctx.account_id}:root",
        resource_type="AwsAccount",
        resource_name=ctx.account.name,
        root_mfa_enabled=bool(summary.get("AccountMFAEnabled", 0)),
    )

    details = _authorization_details(iam)
    managed_docs = {p["Arn"]: _default_version_document(p) for p in details["policies"]}
    for policy in details["policies"]:  # customer-managed policies: who could be given `*:*`
        document = managed_docs[policy["Arn"]]
        ctx.add(
            "iam_policies",
            resource_arn=policy["Arn"],
            resource_type="AwsIamPolicy",
            resource_name=policy.get("PolicyName") or policy["Arn"].rsplit("/", 1)[-1],  # the ARN ends with it
            attachments=int(policy.get("AttachmentCount") or 0),
            attached=bool(policy.get("AttachmentCount")),
            grants_full_admin=grants_full_admin(document) if document is not None else None,
        )
    admin_groups = {
        g["GroupName"]
        for g in details["groups"]
        if any(_is_admin_policy(p["PolicyArn"], managed_docs) for p in g.get("AttachedManagedPolicies", []))
        or any(grants_full_admin(p["PolicyDocument"]) for p in g.get("GroupPolicyList", []))
    }
    users_by_arn = {u["Arn"]: u for u in details["users"]}
    report = {row["arn"]: row for row in credential_report(iam)}

    for user in details["users"]:
        _add_user(ctx, user, report.get(user["Arn"]), managed_docs, admin_groups)
    for role in details["roles"]:
        _add_principal(ctx, role, "AwsIamRole", role.get("RolePolicyList", []), [], managed_docs, set())
    missing = set(report) - set(users_by_arn) - {f"arn:aws:iam::{ctx.account_id}:root"}
    for arn in sorted(missing):  # users created between the two calls: keep them visible
        row = report[arn]
        if row.get("user") == "<root_account>":
            continue
        _add_user(ctx, {"Arn": arn, "UserName": row["user"]}, row, managed_docs, admin_groups)


def _add_user(
    ctx: CollectContext,
    user: dict[str, Any],
    report_row: dict[str, str] | None,
    managed_docs: dict[str, Any],
    admin_groups: set[str],
) -> None:
    arn, name = user["Arn"], user["UserName"]
    tags = tag_dict(user.get("Tags"))
    attached = [p["PolicyArn"] for p in user.get("AttachedManagedPolicies", [])]
    facts: dict[str, Any] = {
        "admin_policy_attached_directly": any(a.endswith(ADMIN_POLICY_ARN_SUFFIX) for a in attached),
    }
    if report_row is None:
        ctx.gap(
            "GetCredentialReport",
            LookupError(f"{name} missing from the credential report"),
            resource_id=arn,
            tables=("iam_users", "iam_access_keys"),
        )
        facts.update(password_enabled=None, mfa_active=None, password_unused_days=None, created_days=None)
    else:
        created = _parse_time(report_row.get("user_creation_time", ""))
        password_enabled = report_row.get("password_enabled") == "true"
        last_login = _parse_time(report_row.get("password_last_used", ""))
        facts.update(
            password_enabled=password_enabled,
            mfa_active=report_row.get("mfa_active") == "true",
            # A password never used counts from the user's creation date.
            password_unused_days=ctx.days_since(last_login or created) if password_enabled else None,
            created_days=ctx.days_since(created),
        )
        for slot in (1, 2):
            _add_key(ctx, user, tags, report_row, slot, created)
    ctx.add("iam_users", resource_arn=arn, resource_type="AwsIamUser", resource_name=name, tags=tags, **facts)
    _add_principal(
        ctx,
        user,
        "AwsIamUser",
        user.get("UserPolicyList", []),
        user.get("GroupList", []),
        managed_docs,
        admin_groups,
        last_activity=report_row,
    )


def _add_key(
    ctx: CollectContext,
    user: dict[str, Any],
    tags: dict[str, str],
    row: dict[str, str],
    slot: int,
    user_created: datetime | None,
) -> None:
    created = _parse_time(row.get(f"access_key_{slot}_last_rotated", ""))
    if created is None:  # no key in this slot
        return
    last_used = _parse_time(row.get(f"access_key_{slot}_last_used_date", ""))
    ctx.add(
        "iam_access_keys",
        resource_arn=user["Arn"],
        resource_id=f"{user['Arn']}/access_key_{slot}",
        resource_type="AwsIamAccessKey",
        resource_name=f"{user['UserName']} access key {slot}",
        tags=tags,
        user_name=user["UserName"],
        key_slot=slot,
        status="Active" if row.get(f"access_key_{slot}_active") == "true" else "Inactive",
        age_days=ctx.days_since(created),
        # A key never used counts from its creation date.
        unused_days=ctx.days_since(last_used or created),
        last_used_service=row.get(f"access_key_{slot}_last_used_service", ""),
    )


def _add_principal(
    ctx: CollectContext,
    principal: dict[str, Any],
    resource_type: str,
    inline_policies: list[dict[str, Any]],
    groups: list[str],
    managed_docs: dict[str, Any],
    admin_groups: set[str],
    last_activity: dict[str, str] | None = None,
) -> None:
    attached = [p["PolicyArn"] for p in principal.get("AttachedManagedPolicies", [])]
    inline_admin = any(grants_full_admin(p["PolicyDocument"]) for p in inline_policies)
    admin_via = []
    if any(_is_admin_policy(a, managed_docs) for a in attached):
        admin_via.append("attached policy")
    if inline_admin:
        admin_via.append("inline policy")
    if set(groups) & admin_groups:
        admin_via.append("group")
    if resource_type == "AwsIamRole":
        last = (principal.get("RoleLastUsed") or {}).get("LastUsedDate")
        name = principal["RoleName"]
    else:
        name = principal["UserName"]
        candidates = []
        if last_activity:
            candidates = [
                _parse_time(last_activity.get(k, ""))
                for k in ("password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date")
            ]
        dated = [c for c in candidates if c is not None]
        last = max(dated) if dated else None
    ctx.add(
        "iam_principals",
        resource_arn=principal["Arn"],
        resource_type=resource_type,
        resource_name=name,
        tags=tag_dict(principal.get("Tags")),
        groups=", ".join(sorted(groups)),
        attached_policies=", ".join(sorted(a.rsplit("/", 1)[-1] for a in attached)),
        inline_policies=", ".join(sorted(p["PolicyName"] for p in inline_policies)),
        is_admin=bool(admin_via),
        admin_via=", ".join(admin_via),
        last_activity=last.isoformat() if last else "",
        inactive_days=ctx.days_since(last) if last else None,
    )


_REPORT = ("password_enabled", "mfa_active", "password_unused_days", "created_days")

COLLECTOR = Collector(
    name="iam",
    service="iam",
    scope="global",
    declares=(
        TableSpec(
            "iam_account",
            "One row per account: account-wide IAM settings.",
            (Column("root_mfa_enabled", "boolean", "the root user has an MFA device"),),
        ),
        TableSpec(
            "iam_users",
            "One row per IAM user (credential report joined with authorization details).",
            (
                Column("admin_policy_attached_directly", "boolean", "AdministratorAccess attached to the user itself"),
                Column("password_enabled", "boolean", "the user has a console password"),
                Column("mfa_active", "boolean", "the user has an MFA device"),
                Column(
                    "password_unused_days",
                    "integer",
                    "days since the password was last used (or since creation if never); null: no password",
                ),
                Column("created_days", "integer", "days since the user was created"),
            ),
        ),
        TableSpec(
            "iam_access_keys",
            "One row per access key (slot 1 and 2 of each user that has one).",
            (
                Column("user_name", "string", "the user owning the key"),
                Column("key_slot", "integer", "1 or 2, as in the credential report"),
                Column("status", "string", "Active or Inactive"),
                Column("age_days", "integer", "days since the key was created or last rotated"),
                Column("unused_days", "integer", "days since the key was last used (or since creation if never)"),
                Column("last_used_service", "string", "service of the last use; N/A when never used"),
            ),
        ),
        TableSpec(
            "iam_principals",
            "One row per IAM user and role: what it can do and when it was last active (access reviews).",
            (
                Column("groups", "string", "comma-separated IAM groups (users)"),
                Column("attached_policies", "string", "comma-separated names of attached managed policies"),
                Column("inline_policies", "string", "comma-separated names of inline policies"),
                Column("is_admin", "boolean", "allowed every action on every resource, by any route"),
                Column("admin_via", "string", "how: attached policy, inline policy, group"),
                Column("last_activity", "date", "ISO time of the last password / key / role use; empty: never"),
                Column("inactive_days", "integer", "days since last_activity; null: never used"),
            ),
        ),
        TableSpec(
            "iam_policies",
            "One row per customer-managed IAM policy (its default version).",
            (
                Column("attachments", "integer", "users, groups and roles it is attached to"),
                Column("attached", "boolean", "attached to at least one user, group or role"),
                Column("grants_full_admin", "boolean", "allows every action on every resource (*:*, NotAction, …)"),
            ),
        ),
    ),
    calls=(
        call("iam", "GetAccountSummary", "root_mfa_enabled"),
        # feeds every table but iam_account: a failure leaves users, keys, principals and policies unknown
        call("iam", "GetAccountAuthorizationDetails"),
        call("iam", "GenerateCredentialReport", *_REPORT),
        call("iam", "GetCredentialReport", *_REPORT),
    ),
    collect=collect_iam,
    description="IAM credential report, authorization details and account summary",
)
