"""Exception request: the requester fills the parameters form, the designated approver decides in the UI.

The request is checked against the exceptions policy first (no bare `*` without the account-wide flag
and a reason; expiry within 365 days), then the approver and the requester are told in Slack and the
run suspends until the approver answers. The decision is sealed and signed in the evidence store; an
approval is an exception from the next run on (merged with configs/exceptions.yaml).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, get_run_logger

from complyflow.core.config import load_config
from complyflow.core.text import md_code, md_text
from flows.owner_input import flow_run_id, flow_run_url, form, wait_for_answer
from tasks.decisions import seal_decision, sealed_decisions
from tasks.evidence import evidence_root, open_store
from tasks.exception_requests import (
    KIND,
    ExceptionDecision,
    ExceptionRequest,
    PendingRequest,
    decide,
    decision_notices,
    open_request,
    request_notices,
)
from tasks.notify.notices import send_notices

DECISION_TIMEOUT_SECONDS = 30 * 24 * 3600  # an unanswered request fails after 30 days: ask again


def _form_description(pending: PendingRequest) -> str:
    r = pending.request
    return "\n".join(
        [
            f"## Exception request {md_text(pending.id)}",
            f"- control: {md_code(r.control)}",
            f"- resource: {md_code(r.resource)}"
            + (" (**account-wide**: " + md_text(r.account_wide_reason) + ")" if r.account_wide else ""),
            f"- justification: {md_text(r.justification)}",
            f"- risk assessment: {md_text(r.risk_assessment)}",
            f"- mitigating controls: {md_text(r.mitigating_controls)}",
            f"- requester: {md_text(r.requester)}; requested expiry {r.requested_expiry}",
            f"- designated approver: {md_text(pending.approver)}",
            "",
            "Approve, approve with conditions (and optionally a shorter expiry), or reject. "
            "The decision is sealed and signed in the evidence store.",
        ]
    )


@flow(name="exception-request", flow_run_name="exception-request-{control}", log_prints=True)
def exception_request(
    control: str,
    resource: str,
    justification: str,
    risk_assessment: str,
    mitigating_controls: str,
    requester: str,
    requested_expiry: date,
    account_wide: bool = False,
    account_wide_reason: str = "",
    config_dir: str | None = None,
    evidence_dir: str | None = None,
) -> dict[str, Any]:
    """Request a documented, time-boxed exception to one control, decided by the designated approver.

    Args:
        control: The control id (complyflow controls lists them).
        resource: ARN or glob of the excepted resources; a glob naming no resource needs account_wide.
        justification: Why the control cannot be met.
        risk_assessment: The risk accepted while the exception lasts.
        mitigating_controls: What limits that risk.
        requester: Who asks (team or e-mail; told in Slack).
        requested_expiry: Last day of the exception, at most 365 days away.
        account_wide: The exception is meant to cover every resource of the control.
        account_wide_reason: Why it must be account-wide (required with account_wide).
        config_dir: Config directory (default: COMPLYFLOW_CONFIG_DIR, else the shipped configs/).
        evidence_dir: Evidence root (default: COMPLYFLOW_EVIDENCE_DIR, else ./evidence).
    """
    logger = get_run_logger()
    config = load_config(config_dir)
    store = open_store(config.directory, evidence_dir)
    root = evidence_root(evidence_dir)
    request = ExceptionRequest(
        control=control,
        resource=resource,
        justification=justification,
        risk_assessment=risk_assessment,
        mitigating_controls=mitigating_controls,
        requester=requester,
        requested_expiry=requested_expiry,
        account_wide=account_wide,
        account_wide_reason=account_wide_reason,
    )
    pending = open_request(request, config, _started_at(), flow_run_id(), flow_run_url())
    send_notices(request_notices(pending), config, root, store)
    logger.info("exception request %s waits for %s", pending.id, pending.approver)
    decision_form = form(ExceptionDecision, _form_description(pending))
    decision = wait_for_answer(ExceptionDecision, decision_form, "decision", DECISION_TIMEOUT_SECONDS)

    already = [d for d in sealed_decisions(store, KIND)[0] if d.record.get("request_id") == pending.id]
    if already:  # a retry after the seal: the decision is on record, never sealed twice
        run_id, record = already[-1].run_id, already[-1].record
    else:
        record = decide(pending, decision, datetime.now(UTC))
        run_id, _manifest = seal_decision(
            KIND, record, config_dir=config.directory, evidence_dir=evidence_dir, store=store
        )
    send_notices(decision_notices(record, run_id), config, root, store)
    logger.info("exception request %s: %s, sealed in run %s", pending.id, record["decision"]["outcome"], run_id)
    return {"request_id": pending.id, "decision_run": run_id, **record["decision"]}


def _started_at() -> datetime:
    """When the request was made: the flow run's creation (the same after a resume), else now."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    created = context.flow_run.created if context and context.flow_run else None
    return created.astimezone(UTC) if isinstance(created, datetime) else datetime.now(UTC)


if __name__ == "__main__":
    raise SystemExit("start it from the Prefect UI or: prefect deployment run exception-request/exception-request")
