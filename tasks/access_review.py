"""The periodic access review (AI Security Policy 5.1): every principal, for its owner to re-attest."""

from __future__ import annotations

import pandas as pd

from complyflow.core.text import csv_cell

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
    """The review as CSV; names, owners and policy names are untrusted, so no cell may start a formula.

    Rows end in CRLF like findings.csv (RFC 4180): the csv module then quotes a cell holding a lone CR as
    well as one holding LF, so a name with a line break cannot split its row (with pandas' "\n" it
    would, on Python 3.11, for CR).
    """
    return access_review(principals).map(csv_cell).to_csv(index=False, lineterminator="\r\n")


def principals_by_owner(principals: pd.DataFrame) -> dict[str, int]:
    if principals.empty:
        return {}
    return {str(k): int(v) for k, v in principals.groupby("owner").size().items()}
