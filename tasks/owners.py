"""Who owns each evidence row: the resource's owner tag, else its account's owner, else the fallback.

The source of the answer is kept (`owner_source`) so that a misrouted alert can be explained.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd

from complyflow.core.config import Config, Owners
from complyflow.core.model import Finding


def resolve_owner(tags_json: str, account_owner: str | None, owners: Owners) -> tuple[str, str]:
    tags = json.loads(tags_json or "{}")
    for key in owners.tag_keys:
        value = str(tags.get(key, "")).strip()
        if value:
            return value, f"tag:{key}"
    if account_owner:
        return account_owner, "account"
    return owners.fallback_owner, "fallback"


def assign_owners(frame: pd.DataFrame, account_owners: dict[str, str | None], owners: Owners) -> pd.DataFrame:
    """A copy of `frame` with `owner` and `owner_source` filled."""
    result = frame.copy()
    if result.empty:
        result["owner_source"] = pd.Series(dtype="str")
        return result
    resolved = [
        resolve_owner(tags, account_owners.get(str(account)), owners)
        for tags, account in zip(result["tags"], result["account"], strict=True)
    ]
    result["owner"] = [owner for owner, _ in resolved]
    result["owner_source"] = [source for _, source in resolved]
    return result


def fill_missing_owners(
    findings: list[Finding], account_owners: dict[str, str | None], config: Config
) -> list[Finding]:
    """Findings without a resource (evidence gaps) go to the account owner, else the fallback owner."""
    result = []
    for finding in findings:
        if not finding.owner:
            owner = account_owners.get(finding.account) or config.owners.fallback_owner
            source = "account" if account_owners.get(finding.account) else "fallback"
            finding = replace(finding, owner=owner, owner_route=source)
        result.append(finding)
    return result
