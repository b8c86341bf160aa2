"""Access reviews as evidence tables: declared here, filled from sealed review decisions (tasks/access_reviews.py).

No AWS call: the facts are the owners' sealed decisions and the run's own `iam_principals`, so the
compliance run fills both tables after collection (`flows.pipeline`), once principals have owners.
Declaring them here gives the controls their load-time check and the tables their reference entry;
a failed `iam_principals` collection is carried over as a gap on both tables (ERROR, never PASS).
"""

from __future__ import annotations

from complyflow.core.tables import Column, TableSpec
from tasks.collect.base import CollectContext, Collector

#: tasks.access_reviews fills them (and names them too: it is not imported here, to keep collector discovery light)
REVIEWS_TABLE = "access_reviews"
REVOCATIONS_TABLE = "access_review_revocations"


def collect_nothing(ctx: CollectContext) -> None:
    """The tables are derived after collection; see the module docstring."""


COLLECTOR = Collector(
    name="access-reviews",
    service="access-reviews",
    scope="organization",
    declares=(
        TableSpec(
            REVIEWS_TABLE,
            "One row per owner and account with IAM principals in this run: the owner's newest completed review.",
            (
                Column("principals", "integer", "the owner's users and roles in the account, in this run"),
                Column(
                    "last_review_completed", "date", "day of the owner's newest complete, sealed review; empty: never"
                ),
                Column("days_since_review", "integer", "days since that review; null: never reviewed"),
                Column("review_current", "boolean", "a complete review within access-review.yaml's interval_days"),
                Column("reviewer", "string", "who submitted that review"),
                Column("review_pending_since", "date", "start of the newest campaign, when its review is unanswered"),
            ),
        ),
        TableSpec(
            REVOCATIONS_TABLE,
            "One row per principal whose newest review decision is revoke, in an account this run collected.",
            (
                Column("revoked_on", "date", "day of the revoke decision"),
                Column("reviewer", "string", "who decided it"),
                Column("campaign", "string", "the review campaign"),
                Column("principal_exists", "boolean", "the user or role is still in this run's iam_principals"),
                Column("still_has_access", "boolean", "it still has a group or policy it had when reviewed"),
                Column("remaining_access", "string", "those groups and policies (field:name)"),
            ),
        ),
    ),
    calls=(),
    collect=collect_nothing,
    description="sealed access-review decisions and the run's IAM principals (no AWS call)",
)
