"""A past access-review campaign and a past exception request for the demo, sealed as decisions.

The request: ml-research asked 30 days ago to keep the scratch notebook without a customer-managed key until
it is deleted, and security-team approved it with conditions; `complyflow exceptions list` shows it beside
the exception from exceptions.yaml, and its notebook's finding is EXCEPTED.

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
from tasks.exception_requests import KIND as REQUEST_KIND
from tasks.exception_requests import ExceptionDecision, ExceptionRequest, decide, open_request

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


def seed_request_history(
    store: EvidenceStore, config_dir: str, evidence_dir: str | None, now: datetime | None = None
) -> bool:
    """Seal the demo's past approved exception request, unless the store holds a request decision already.

    Made by the same functions as the exception-request flow (checks, designated approver, expiry rule)."""
    from complyflow.core.config import load_config

    if sealed_decisions(store, REQUEST_KIND)[0]:
        return False
    now = now or datetime.now(UTC)
    asked, decided = now - timedelta(days=30), now - timedelta(days=29)
    request = ExceptionRequest(
        control="sagemaker-notebook-kms",
        resource=f"arn:aws:sagemaker:us-east-1:{DEMO_ACCOUNT}:notebook-instance/demo-scratch-nb",
        justification="Scratch notebook for public datasets only; it is deleted when the pilot ends.",
        risk_assessment="Low: no customer or training data is stored on its volume.",
        mitigating_controls="Data-class tag 'public'; no IAM access to the training buckets.",
        requester="ml-research",
        requested_expiry=(now + timedelta(days=90)).date(),
    )
    pending = open_request(request, load_config(config_dir), asked, flow_run_id="demo-history")
    decision = ExceptionDecision(
        outcome="approve-with-conditions",
        approver="security-lead@example.com",
        conditions="Delete the notebook by the expiry date; no data beyond public datasets.",
        comment="Pilot only.",
    )
    seal_decision(
        REQUEST_KIND, decide(pending, decision, decided), config_dir=config_dir, evidence_dir=evidence_dir, store=store
    )
    return True
