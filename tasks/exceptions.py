"""Apply the exceptions register: a live, approved exception turns FAIL into EXCEPTED.

An exception never hides anything: the finding stays in evidence and reports, it is only not
notified. After expiry the finding is a violation again and the lapse is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from complyflow.core.config import ExceptionEntry, ExceptionsRegister
from complyflow.core.model import Finding, Status


@dataclass
class ExceptionOutcome:
    findings: list[Finding]
    lapsed: list[tuple[Finding, ExceptionEntry]] = field(default_factory=list)
    expiring: list[ExceptionEntry] = field(default_factory=list)
    unused: list[ExceptionEntry] = field(default_factory=list)


def apply_exceptions(findings: list[Finding], register: ExceptionsRegister, today: date) -> ExceptionOutcome:
    outcome = ExceptionOutcome(findings=[])
    used: set[str] = set()
    for item in findings:
        if item.status != Status.FAIL:
            outcome.findings.append(item)
            continue
        matches = [e for e in register.exceptions if e.matches(item.control_id, item.resource_arn, item.resource_id)]
        live = [e for e in matches if e.is_live(today)]
        if live:
            used.add(live[0].id)
            outcome.findings.append(
                replace(
                    item,
                    status=Status.EXCEPTED,
                    exception_id=live[0].id,
                    message=f"excepted until {live[0].expiry_date} by {live[0].approver}",
                )
            )
            continue
        expired = [e for e in matches if e.expiry_date < today]
        if expired:
            latest = max(expired, key=lambda e: e.expiry_date)
            outcome.lapsed.append((item, latest))
            item = replace(
                item,
                exception_id=latest.id,
                message=f"exception {latest.id} lapsed on {latest.expiry_date}; {item.message}",
            )
        outcome.findings.append(item)
    horizon = today + timedelta(days=register.review_window_days)
    outcome.expiring = [e for e in register.exceptions if today <= e.expiry_date <= horizon]
    outcome.unused = [e for e in register.exceptions if e.is_live(today) and e.id not in used]
    return outcome
