"""A past access-review campaign for the demo: so the first demo run shows both access-review controls.

platform-team reviewed its principals 20 days ago and marked `dave` (AdministratorAccess attached
directly) revoke, which nobody carried out: `iam-access-review-revocations-done` fails for dave, and
`iam-access-review-completed` passes for platform-team while data-eng and ml-research, never reviewed,
fail. Sealed and signed like any decision; written once per evidence store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from complyflow.demo import DEMO_ACCOUNT
from tasks.access_reviews import CAMPAIGN_KIND, REVIEW_KIND
from tasks.decisions import seal_decision, sealed_decisions
from tasks.evidence import EvidenceStore

CAMPAIGN = "AR-demo"


def seed_review_history(
    store: EvidenceStore, config_dir: str, evidence_dir: str | None, now: datetime | None = None
) -> bool:
    """Seal the demo's past campaign and platform-team's review, unless the store has a review already."""
    if sealed_decisions(store, REVIEW_KIND)[0]:
        return False
    now = now or datetime.now(UTC)
    started, decided = now - timedelta(days=21), now - timedelta(days=20)
    dave = f"arn:aws:iam::{DEMO_ACCOUNT}:user/dave"
    campaign = {
        "campaign": CAMPAIGN,
        "started_at": started.isoformat(),
        "evidence_run": "(before the demo)",
        "reviews": [{"owner": "platform-team", "principals": 1, "flow_run_id": "", "form_url": ""}],
    }
    review = {
        "campaign": CAMPAIGN,
        "owner": "platform-team",
        "reviewer": "platform-lead@example.com",
        "decided_at": decided.isoformat(),
        "evidence_run": "(before the demo)",
        "flow_run_id": "",
        "complete": True,
        "missing": [],
        "items": [
            {
                "principal": dave,
                "name": "dave",
                "type": "AwsIamUser",
                "account": DEMO_ACCOUNT,
                "access": {"groups": [], "attached_policies": ["AdministratorAccess"], "inline_policies": []},
                "is_admin": True,
                "action": "revoke",
                "reassign_to": "",
                "comment": "left the team; administration goes through the break-glass role",
            }
        ],
        "notes": [],
    }
    for kind, record in ((CAMPAIGN_KIND, campaign), (REVIEW_KIND, review)):  # sealed now, dated in the past
        seal_decision(kind, record, config_dir=config_dir, evidence_dir=evidence_dir, store=store)
    return True
