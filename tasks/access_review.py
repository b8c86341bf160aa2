"""The periodic access review (AI Security Policy 5.1): every principal, for its owner to re-attest."""

from __future__ import annotations

import pandas as pd

ACCESS_REVIEW_CSV = "reports/access-review.csv"
COLUMNS = [
    "owner",
    "account",
    "resource_type",
    "resource_name",
    "resource_arn",
    "is_admin",
    "admin_via",
    "groups",
    "attached_policies",
    "inline_policies",
    "last_activity",
    "inactive_days",
]


def access_review(principals: pd.DataFrame) -> pd.DataFrame:
    """Users and roles grouped by owner, admins first, so each owner re-attests their own list."""
    if principals.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame = principals.reindex(columns=COLUMNS)
    return frame.sort_values(["owner", "is_admin", "resource_name"], ascending=[True, False, True], ignore_index=True)


def access_review_csv(principals: pd.DataFrame) -> str:
    frame = access_review(principals)
    text = frame.map(lambda v: "'" + v if isinstance(v, str) and v[:1] in "=+-@" else v)
    return text.to_csv(index=False)


def principals_by_owner(principals: pd.DataFrame) -> dict[str, int]:
    if principals.empty:
        return {}
    return {str(k): int(v) for k, v in principals.groupby("owner").size().items()}
