"""The exceptions register: `exceptions.yaml` merged with the sealed decisions of exception requests.

Approved requests take effect from the next run. A request whose id is already used in the file is not
applied; a request and a file entry both live for the same control and resource are both kept (the
file's first): each case is a conflict, reported by the run, `complyflow exceptions list` and the
reports, never resolved silently. Every entry has a status on a given day: active, expiring (within the
review window, so reminded), lapsed, or rejected (a request that was turned down).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from complyflow.core.config import Config, ExceptionEntry, ExceptionsRegister
from tasks.decisions import sealed_decisions
from tasks.evidence import EvidenceStore
from tasks.exception_requests import KIND, ExceptionRequest, entry_from_record
from tasks.notify.notices import Notice
from tasks.notify.text import code

RegisterStatus = Literal["active", "expiring", "lapsed", "rejected", "not yet active"]
REGISTER_JSON = "reports/exceptions-register.json"  # each run records the register it applied
COLUMNS = ("id", "source", "control", "resource", "approver", "approval_date", "expiry_date", "status")


@dataclass(frozen=True)
class RegisterRow:
    id: str
    source: str  # config or request
    control: str
    resource: str
    approver: str
    approval_date: date
    expiry_date: date | None  # None for a rejection
    status: RegisterStatus
    requester: str = ""
    sealed_run: str = ""  # the decision's run, for a request

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "control": self.control,
            "resource": self.resource,
            "approver": self.approver,
            "approval_date": self.approval_date.isoformat(),
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else "",
            "status": self.status,
            "requester": self.requester,
            "sealed_run": self.sealed_run,
        }


@dataclass
class Register:
    effective: ExceptionsRegister  # what runs apply: the file's entries, then approved requests
    rows: list[RegisterRow] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # decision records that could not be used

    def to_dict(self) -> dict[str, Any]:
        return {
            "review_window_days": self.effective.review_window_days,
            "rows": [r.to_dict() for r in self.rows],
            "conflicts": self.conflicts,
            "problems": self.problems,
        }


def entry_status(entry: ExceptionEntry, today: date, window_days: int) -> RegisterStatus:
    if today < entry.approval_date:
        return "not yet active"
    if entry.expiry_date < today:
        return "lapsed"
    return "expiring" if entry.expiry_date <= today + timedelta(days=window_days) else "active"


def merge_register(
    file_register: ExceptionsRegister, records: list[tuple[str, dict[str, Any]]], today: date
) -> Register:
    """Merge (sealed run id, decision record) pairs, oldest first, into the file's register."""
    window = file_register.review_window_days
    entries = list(file_register.exceptions)
    rows = [_row(e, today, window) for e in entries]
    conflicts: list[str] = []
    problems: list[str] = []
    by_id = {e.id: e for e in entries}
    for run_id, record in records:
        try:
            entry = entry_from_record(record)
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"decision in run {run_id}: malformed record ({exc}); ignored"[:300])
            continue
        if entry is None:
            rows.append(_rejected_row(record, run_id))
            continue
        if entry.id in by_id:
            conflicts.append(
                f"request {entry.id} (run {run_id}): id already used by "
                f"{'exceptions.yaml' if by_id[entry.id].source == 'config' else 'an earlier request'}; not applied"
            )
            continue
        for other in entries:
            if (
                other.control == entry.control
                and other.resource == entry.resource
                and other.is_live(today)
                and entry.is_live(today)
            ):
                conflicts.append(
                    f"request {entry.id} and {other.id} ({other.source}) both except {entry.control} on "
                    f"{entry.resource} (until {entry.expiry_date} and {other.expiry_date}); {other.id} applies first"
                )
        problems += [f"request {entry.id}: {p}" for p in entry.policy_problems()]
        entries.append(entry)
        by_id[entry.id] = entry
        rows.append(_row(entry, today, window, run_id))
    effective = file_register.model_copy(update={"exceptions": entries})
    rows.sort(key=lambda r: (r.status == "rejected", r.expiry_date or date.max, r.id))
    return Register(effective=effective, rows=rows, conflicts=conflicts, problems=problems)


def load_register(config: Config, store: EvidenceStore | None, today: date) -> Register:
    """The register as runs apply it today: the file, plus the sealed request decisions in `store`."""
    if store is None:
        return merge_register(config.exceptions, [], today)
    decisions, problems = sealed_decisions(store, KIND)
    register = merge_register(config.exceptions, [(d.run_id, d.record) for d in decisions], today)
    register.problems = problems + register.problems
    return register


def with_register(config: Config, register: Register) -> Config:
    """The config a run uses: the same policy with the merged register."""
    return config.model_copy(update={"exceptions": register.effective})


def _row(entry: ExceptionEntry, today: date, window: int, run_id: str = "") -> RegisterRow:
    return RegisterRow(
        id=entry.id,
        source=entry.source,
        control=entry.control,
        resource=entry.resource,
        approver=entry.approver,
        approval_date=entry.approval_date,
        expiry_date=entry.expiry_date,
        status=entry_status(entry, today, window),
        requester=entry.requester,
        sealed_run=run_id,
    )


def _rejected_row(record: dict[str, Any], run_id: str) -> RegisterRow:
    from datetime import datetime

    request = ExceptionRequest.model_validate(record["request"])
    decision = record["decision"]
    return RegisterRow(
        id=str(record["request_id"]),
        source="request",
        control=request.control,
        resource=request.resource,
        approver=str(decision["approver"]),
        approval_date=datetime.fromisoformat(decision["decided_at"]).date(),
        expiry_date=None,
        status="rejected",
        requester=request.requester,
        sealed_run=run_id,
    )


def expiry_notices(register: Register, today: date) -> list[Notice]:
    """Every exception, from the file or a request, is reminded once when it enters the review window and
    flagged once when it lapses: to its requester (when known) and its approver. Ids carry the expiry
    date, so a renewed exception (new expiry) is reminded again."""
    notices = []
    for entry in register.effective.exceptions:
        status = entry_status(entry, today, register.effective.review_window_days)
        if status not in ("expiring", "lapsed"):
            continue
        days = (entry.expiry_date - today).days
        if status == "expiring":
            title = f"Exception {entry.id} expires on {entry.expiry_date}"
            line = (
                f"{code(entry.control)} · {code(entry.resource)} expires in {days} day(s): "
                "fix the finding, or request a renewal"
            )
        else:
            title = f"Exception {entry.id} lapsed on {entry.expiry_date}"
            line = f"{code(entry.control)} · {code(entry.resource)}: its findings are violations again"
        people = dict.fromkeys(p for p in (entry.requester, entry.approver) if p.strip())
        for person in people:
            notices.append(
                Notice(
                    id=f"exception/{entry.id}/{entry.expiry_date}/{status}/{person}",
                    to=person,
                    title=title,
                    lines=(line,),
                    control_id=entry.control,
                    purpose=f"exception-{status}",
                )
            )
    return notices
