"""Access-review campaign: one review per owner of IAM principals, each waiting for its owner in the Prefect UI.

Started quarterly (or on demand) without `owner`: the campaign reads the principals of the newest
sealed nightly evidence, seals the campaign record and starts one run of this same deployment per
owner. Each owner's run tells the owner in Slack (with the link to its form) and suspends, holding no
worker, until the owner (or, after escalation, the fallback owner) keeps, revokes or reassigns each
principal; the answer is sealed and signed. Reminders and escalation are sent by the nightly run,
from the sealed campaign record, so they happen on schedule while every review run is suspended.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.deployments import run_deployment

from complyflow.core.config import load_config
from complyflow.core.text import md_cell, md_code, md_text
from flows.owner_input import flow_run_id, flow_run_url, form, wait_for_answer
from tasks.access_review_notices import decision_notice, request_notice
from tasks.access_reviews import (
    CAMPAIGN_KIND,
    REVIEW_KIND,
    Principal,
    ReviewAnswer,
    campaign_id,
    form_defaults,
    latest_principals,
    principals_by_owner,
    principals_of_run,
    review_record,
)
from tasks.decisions import seal_decision, sealed_decisions
from tasks.evidence import evidence_root, open_store
from tasks.notify.notices import send_notices

DEPLOYMENT = "access-review/access-review"


def _description(campaign: str, owner: str, evidence_run: str, principals: list[Principal]) -> str:
    lines = [
        f"## Access review {md_text(campaign)} for {md_text(owner)}",
        f"Principals from sealed run {md_code(evidence_run)}. For each one choose **keep**, **revoke** or "
        "**reassign** (with the new owner), with a comment; give your name as reviewer.",
        "",
        "| principal | type | account | admin | groups | policies | last used |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in principals:
        policies = ", ".join(x for x in (p.attached_policies, p.inline_policies) if x)
        lines.append(
            "| "
            + " | ".join(
                md_cell(v) or "–"
                for v in (
                    p.arn,
                    p.type,
                    p.account,
                    "yes" if p.is_admin else "",
                    p.groups,
                    policies,
                    p.last_activity[:10],
                )
            )
            + " |"
        )
    return "\n".join(lines)


@flow(name="access-review", flow_run_name="access-review-{owner}", log_prints=True)
def access_review(
    owner: str = "campaign",
    campaign: str = "",
    evidence_run: str = "",
    config_dir: str | None = None,
    evidence_dir: str | None = None,
) -> dict[str, Any]:
    """Start an access-review campaign (owner "campaign"), or run one owner's review of a campaign.

    Args:
        owner: "campaign" starts a campaign; an owner name runs that owner's review (started by the campaign).
        campaign: The campaign id (set by the campaign).
        evidence_run: The sealed run whose principals are reviewed (set by the campaign).
        config_dir: Config directory (default: COMPLYFLOW_CONFIG_DIR, else the shipped configs/).
        evidence_dir: Evidence root (default: COMPLYFLOW_EVIDENCE_DIR, else ./evidence).
    """
    if owner == "campaign":
        return start_campaign(config_dir, evidence_dir)
    return review_one_owner(owner, campaign, evidence_run, config_dir, evidence_dir)


def start_campaign(config_dir: str | None, evidence_dir: str | None) -> dict[str, Any]:
    logger = get_run_logger()
    config = load_config(config_dir)
    store = open_store(config.directory, evidence_dir)
    evidence_run, frame = latest_principals(store)
    owners = principals_by_owner(frame, config.owners.fallback_owner)
    started = datetime.now(UTC)
    cid = campaign_id(flow_run_id(), started)
    reviews = []
    for owner, principals in owners.items():
        run = run_deployment(
            DEPLOYMENT,
            parameters={
                "owner": owner,
                "campaign": cid,
                "evidence_run": evidence_run,
                "config_dir": config_dir,
                "evidence_dir": evidence_dir,
            },
            timeout=0,  # start it and move on: each review waits for its owner on its own
            as_subflow=False,
            idempotency_key=f"{cid}/{owner}",  # a retried campaign does not start a review twice
            tags=["compliance", "access-review"],
            job_variables=_own_job_variables(),  # the reviews run where and how the campaign ran
        )
        reviews.append(
            {
                "owner": owner,
                "principals": len(principals),
                "flow_run_id": str(run.id),
                "form_url": flow_run_url(str(run.id)),
            }
        )
    record = {"campaign": cid, "started_at": started.isoformat(), "evidence_run": evidence_run, "reviews": reviews}
    already = [c for c in sealed_decisions(store, CAMPAIGN_KIND)[0] if c.record.get("campaign") == cid]
    run_id = (
        already[-1].run_id
        if already
        else seal_decision(CAMPAIGN_KIND, record, config_dir=config.directory, evidence_dir=evidence_dir, store=store)[
            0
        ]
    )
    logger.info("access review %s: %d owner(s) asked, campaign sealed in run %s", cid, len(reviews), run_id)
    return {"campaign": cid, "campaign_run": run_id, "evidence_run": evidence_run, "reviews": reviews}


def review_one_owner(
    owner: str, campaign: str, evidence_run: str, config_dir: str | None, evidence_dir: str | None
) -> dict[str, Any]:
    logger = get_run_logger()
    config = load_config(config_dir)
    store = open_store(config.directory, evidence_dir)
    root = evidence_root(evidence_dir)
    if evidence_run:
        frame = principals_of_run(store, evidence_run)
    else:
        evidence_run, frame = latest_principals(store)
    principals = principals_by_owner(frame, config.owners.fallback_owner).get(owner, [])
    send_notices([request_notice(campaign, owner, principals, flow_run_url())], config, root, store)
    logger.info("access review %s: waiting for %s (%d principal(s))", campaign, owner, len(principals))
    answer_form = form(ReviewAnswer, _description(campaign, owner, evidence_run, principals))
    prefilled = answer_form.with_initial_data(decisions=form_defaults(principals))
    answer = wait_for_answer(ReviewAnswer, prefilled, "review", config.access_review.interval_days * 24 * 3600)
    done = [
        r
        for r in sealed_decisions(store, REVIEW_KIND)[0]
        if (r.record["campaign"], r.record["owner"]) == (campaign, owner)
    ]
    if done:  # a retry after the seal: on record already
        run_id, record = done[-1].run_id, done[-1].record
    else:
        record = review_record(
            campaign=campaign,
            owner=owner,
            evidence_run=evidence_run,
            principals=principals,
            answer=answer,
            decided_at=datetime.now(UTC),
            flow_run_id=flow_run_id(),
        )
        run_id, _ = seal_decision(
            REVIEW_KIND, record, config_dir=config.directory, evidence_dir=evidence_dir, store=store
        )
    send_notices(decision_notice(record, run_id), config, root, store)
    logger.info("access review %s of %s sealed in run %s (complete: %s)", campaign, owner, run_id, record["complete"])
    return {"campaign": campaign, "owner": owner, "decision_run": run_id, "complete": record["complete"]}


def _own_job_variables() -> dict[str, Any]:
    from prefect import runtime

    return dict(runtime.flow_run.job_variables or {})


if __name__ == "__main__":
    raise SystemExit("start it from the Prefect UI or: prefect deployment run access-review/access-review")
