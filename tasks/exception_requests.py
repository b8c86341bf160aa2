"""Exception requests (ML SecPol, exceptions): a formal request, a decision by the designated authority.

The request carries what the policy asks for (justification, risk assessment, mitigating controls) and
is checked against the same limits as `exceptions.yaml` before anyone is asked to decide. The decision
(approve, reject, approve with conditions and a shorter expiry) becomes a record sealed and signed in
the evidence store (tasks/decisions.py); an approved record is an exception from the next run on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from complyflow.core.config import MAX_EXCEPTION_DAYS, Config, ExceptionEntry, NonBlank, names_no_resource
from tasks.notify.notices import Notice
from tasks.notify.text import code, safe

KIND = "exception-request"
Outcome = Literal["approve", "approve-with-conditions", "reject"]


class RequestError(ValueError):
    """A request that breaks the exceptions policy; the message names every problem."""


class ExceptionRequest(BaseModel):
    """What a requester submits (the deployment's parameters form)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    control: NonBlank
    resource: NonBlank
    justification: NonBlank
    risk_assessment: NonBlank
    mitigating_controls: NonBlank
    requester: NonBlank
    requested_expiry: date
    account_wide: bool = False
    account_wide_reason: str = ""


class ExceptionDecision(BaseModel):
    """What the approver answers (the form of the suspended run)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome = Field(description="approve, approve with conditions, or reject")
    approver: NonBlank = Field(description="Who decides (name or e-mail); recorded in the signed decision")
    conditions: str = Field(default="", description="Required for approve-with-conditions")
    expiry_date: date | None = Field(default=None, description="A shorter expiry than requested (optional)")
    comment: str = Field(default="", description="Why; recorded with the decision")


@dataclass(frozen=True)
class PendingRequest:
    """A checked request with its id and who must decide it."""

    id: str
    request: ExceptionRequest
    approver: str  # designated by exceptions.yaml's approvers
    requested_at: datetime
    flow_run_id: str = ""
    form_url: str = ""


def request_id(flow_run_id: str, requested_on: date) -> str:
    """Stable across the run's restarts (a resumed suspended run starts again): derived from the flow run."""
    return f"EXR-{requested_on:%Y%m%d}-{flow_run_id.replace('-', '')[:8] or 'local'}"


def check_request(request: ExceptionRequest, config: Config, today: date) -> list[str]:
    """Every way the request breaks the policy or the catalog (none: it may go to the approver)."""
    problems = []
    if request.control not in {c.id for c in config.controls}:
        problems.append(f"control: unknown control {request.control!r}")
    if names_no_resource(request.resource) and not request.account_wide:
        problems.append(
            f"resource: {request.resource!r} names no resource; name the resources, "
            "or tick account_wide and give a reason"
        )
    if request.account_wide and not request.account_wide_reason.strip():
        problems.append("account_wide_reason: required when account_wide is set")
    if request.requested_expiry <= today:
        problems.append(f"requested_expiry: {request.requested_expiry} is not after today ({today})")
    latest = today + timedelta(days=MAX_EXCEPTION_DAYS)
    if request.requested_expiry > latest:
        problems.append(
            f"requested_expiry: {request.requested_expiry} is more than {MAX_EXCEPTION_DAYS} days away "
            f"(latest {latest}); exceptions are reviewed at least annually"
        )
    return problems


def open_request(
    request: ExceptionRequest, config: Config, now: datetime, flow_run_id: str = "", form_url: str = ""
) -> PendingRequest:
    """The request, checked, with its id and designated approver; RequestError lists what is wrong."""
    problems = check_request(request, config, now.date())
    if problems:
        raise RequestError("exception request refused: " + "; ".join(problems))
    role = config.control(request.control).owner_role
    return PendingRequest(
        id=request_id(flow_run_id, now.date()),
        request=request,
        approver=config.exceptions.approvers.for_role(role),
        requested_at=now,
        flow_run_id=flow_run_id,
        form_url=form_url,
    )


def decide(pending: PendingRequest, decision: ExceptionDecision, now: datetime) -> dict[str, Any]:
    """The decision record to seal. An approval's expiry is the shorter of the requested one, the approver's
    and approval + 365 days; an approver's date after the requested one is not taken (noted)."""
    today = now.date()
    notes = []
    outcome = decision.outcome
    if outcome == "approve-with-conditions" and not decision.conditions.strip():
        notes.append("approved with conditions but none were given: recorded as an approval")
        outcome = "approve"
    expiry: date | None = None
    if outcome != "reject":
        expiry = min(pending.request.requested_expiry, today + timedelta(days=MAX_EXCEPTION_DAYS))
        if decision.expiry_date is not None:
            if decision.expiry_date <= today:
                notes.append(f"approver's expiry {decision.expiry_date} is not after the decision date; not taken")
            elif decision.expiry_date > expiry:
                notes.append(f"approver's expiry {decision.expiry_date} is later than allowed ({expiry}); not taken")
            else:
                expiry = decision.expiry_date
    return {
        "request_id": pending.id,
        "flow_run_id": pending.flow_run_id,
        "requested_at": pending.requested_at.isoformat(),
        "request": pending.request.model_dump(mode="json"),
        "designated_approver": pending.approver,
        "decision": {
            "outcome": outcome,
            "approver": decision.approver,
            "decided_at": now.isoformat(),
            "expiry_date": expiry.isoformat() if expiry else None,
            "conditions": decision.conditions.strip(),
            "comment": decision.comment.strip(),
            "notes": notes,
        },
    }


def entry_from_record(record: dict[str, Any]) -> ExceptionEntry | None:
    """The exception an approved decision grants; None for a rejection. ValueError for a malformed record."""
    decision = record["decision"]
    if decision["outcome"] == "reject":
        return None
    request = ExceptionRequest.model_validate(record["request"])
    try:
        return ExceptionEntry(
            id=record["request_id"],
            control=request.control,
            resource=request.resource,
            justification=request.justification,
            risk_assessment=request.risk_assessment,
            mitigating_controls=request.mitigating_controls,
            requester=request.requester,
            approver=decision["approver"],
            approval_date=datetime.fromisoformat(decision["decided_at"]).date(),
            expiry_date=date.fromisoformat(decision["expiry_date"]),
            account_wide=request.account_wide,
            account_wide_reason=request.account_wide_reason,
            conditions=decision.get("conditions", ""),
            source="request",
        )
    except ValidationError as exc:
        raise ValueError(str(exc)) from None


# --- notices ---------------------------------------------------------------------------------------


def request_notices(pending: PendingRequest) -> list[Notice]:
    """The approver is asked to decide (with the form's link); the requester is told it is waiting."""
    r = pending.request
    about = (
        f"{code(r.control)} · {code(r.resource)}" + (" · *account-wide*" if r.account_wide else ""),
        f"*Justification:* {safe(r.justification)}",
        f"*Risk:* {safe(r.risk_assessment)}",
        f"*Mitigations:* {safe(r.mitigating_controls)}",
        f"*Requested by* {safe(r.requester)} *until* {r.requested_expiry}",
    )
    return [
        Notice(
            id=f"{KIND}/{pending.id}/approver",
            to=pending.approver,
            title=f"Exception request {pending.id}: your decision",
            lines=about,
            link_url=pending.form_url,
            link_label="Approve or reject in Prefect",
            control_id=r.control,
            purpose=KIND,
        ),
        Notice(
            id=f"{KIND}/{pending.id}/requester",
            to=r.requester,
            title=f"Exception request {pending.id} sent to {pending.approver}",
            lines=about[:1],
            link_url=pending.form_url,
            link_label="The request in Prefect",
            control_id=r.control,
            purpose=KIND,
        ),
    ]


def decision_notices(record: dict[str, Any], sealed_run: str) -> list[Notice]:
    """Requester and approver are told the decision and where its sealed record is."""
    decision = record["decision"]
    request = record["request"]
    verdict = {
        "approve": f"approved until {decision['expiry_date']}",
        "approve-with-conditions": f"approved with conditions until {decision['expiry_date']}",
        "reject": "rejected",
    }[decision["outcome"]]
    lines = [
        f"{code(request['control'])} · {code(request['resource'])}: *{verdict}* by {safe(decision['approver'])}",
        *([f"*Conditions:* {safe(decision['conditions'])}"] if decision["conditions"] else []),
        *([f"*Comment:* {safe(decision['comment'])}"] if decision["comment"] else []),
        f"Sealed decision: run {code(sealed_run)}"
        + (" (takes effect from the next run)" if decision["expiry_date"] else ""),
    ]
    rid = record["request_id"]
    return [
        Notice(
            id=f"{KIND}/{rid}/decision/{who}",
            to=person,
            title=f"Exception request {rid} {verdict.split(' ')[0]}",
            lines=tuple(lines),
            control_id=request["control"],
            purpose=KIND,
        )
        for who, person in (("requester", request["requester"]), ("approver", decision["approver"]))
    ]
