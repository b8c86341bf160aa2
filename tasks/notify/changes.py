"""What changed since the last notification, per stable finding key: new, due a reminder, resolved.

A violation is announced once when new, reminded every `reminder_days` while open, and closed with a
"resolved" note. A key is only resolved when this run looked at it again (same control, account and
region in scope) and could see: a missing evidence scope or a narrower run never closes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from complyflow.core.config import Control, ExceptionEntry
from complyflow.core.model import Finding, Status
from tasks.notify.routing import Route
from tasks.notify.state import NotifyState, OpenItem

NOTIFIED = (Status.FAIL, Status.ERROR, Status.REMINDER)


class Change(StrEnum):
    NEW = "new"
    REMINDER = "reminder"
    RESOLVED = "resolved"


class Category(StrEnum):
    VIOLATION = "violation"
    LAPSED = "lapsed"  # a violation whose exception expired
    GAP = "gap"  # evidence missing (ERROR): unknown is not compliant
    REMINDER = "reminder"  # an informational control, e.g. a vendor review falling due


@dataclass(frozen=True)
class RunScope:
    """What this run looked at: only keys inside it can be resolved."""

    controls: frozenset[str]
    accounts: frozenset[str]
    regions: frozenset[str] | None = None  # None: any region
    blind: frozenset[tuple[str, str]] = frozenset()  # (control, account) with a whole-scope evidence gap

    def covers(self, item: OpenItem) -> bool:
        if item.control_id not in self.controls or item.account not in self.accounts:
            return False
        if self.regions is not None and item.region not in self.regions:
            return False
        return (item.control_id, item.account) not in self.blind


@dataclass
class Item:
    """One line of a digest: a finding (or a closed one) with what changed and where it goes."""

    key: str
    change: Change
    category: Category
    owner: str
    route: Route
    control_id: str
    control_title: str
    severity: str
    remediation: str
    resource_name: str
    resource_arn: str
    account: str
    region: str
    status: str
    observed: str = ""
    expected: str = ""
    message: str = ""
    first_seen: str = ""
    age_days: int = 0
    thread: str = ""  # outbox id of the message that announced it, for follow-ups
    announced_to: str = ""  # destination of that message
    resolution: str = ""
    exception: dict[str, str] = field(default_factory=dict)

    def open_item(self, now: datetime, thread: str) -> OpenItem:
        return OpenItem(
            key=self.key,
            owner=self.owner,
            destination=self.route.destination,
            route=self.route.via,
            category=str(self.category),
            control_id=self.control_id,
            resource_name=self.resource_name,
            resource_arn=self.resource_arn,
            account=self.account,
            region=self.region,
            status=self.status,
            first_seen=self.first_seen or now.isoformat(),
            notified_at=now.isoformat(),
            thread=thread,
            mention=self.route.mention,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "change": str(self.change),
            "category": str(self.category),
            "owner": self.owner,
            "destination": self.route.destination,
            "route": self.route.via,
            "control_id": self.control_id,
            "resource_name": self.resource_name,
            "resource_arn": self.resource_arn,
            "account": self.account,
            "region": self.region,
            "status": self.status,
            "observed": self.observed,
            "expected": self.expected,
            "age_days": self.age_days,
            "resolution": self.resolution,
            "exception": self.exception,
        }


def run_scope(findings: list[Finding], controls: list[Control], scope: dict[str, Any], global_region: str) -> RunScope:
    """The run's controls, accounts and regions (from RunSummary.scope; the findings when it is silent)."""
    accounts = frozenset(scope.get("accounts") or {f.account for f in findings})
    regions = None
    if scope.get("regions"):
        regions = frozenset(scope["regions"]) | {global_region, "global"} | {f.region for f in findings}
    blind = frozenset(
        (f.control_id, f.account) for f in findings if f.status == Status.ERROR and f.resource_type == "EvidenceScope"
    )
    return RunScope(controls=frozenset(c.id for c in controls), accounts=accounts, regions=regions, blind=blind)


def _category(finding: Finding, lapsed: dict[str, ExceptionEntry], controls: dict[str, Control]) -> Category:
    if finding.status == Status.ERROR:
        return Category.GAP
    if finding.status == Status.REMINDER:
        return Category.REMINDER
    if finding.key in lapsed:
        return Category.LAPSED
    control = controls.get(finding.control_id)
    severity = control.severity if control else finding.severity
    return Category.REMINDER if severity == "informational" else Category.VIOLATION


def _resolution(finding: Finding | None) -> str:
    if finding is None:
        return "no longer reported (resource removed or the control no longer applies)"
    if finding.status == Status.EXCEPTED:
        return f"covered by exception {finding.exception_id}" + (f" ({finding.message})" if finding.message else "")
    return f"passes now ({finding.observed})"


def classify(
    *,
    findings: list[Finding],
    lapsed: list[tuple[Finding, ExceptionEntry]],
    state: NotifyState,
    routes: dict[str, Route],
    controls: dict[str, Control],
    scope: RunScope,
    now: datetime,
    reminder_days: int,
) -> tuple[list[Item], dict[str, int]]:
    """Items to notify now, and per owner how many open items stay quiet this run (reminded recently)."""
    lapsed_by_key = {f.key: e for f, e in lapsed}
    by_key = {f.key: f for f in findings}
    items: list[Item] = []
    quiet: dict[str, int] = {}
    for key, f in sorted(by_key.items()):
        if f.status not in NOTIFIED:
            continue
        known = state.open.get(key)
        if known is not None and not known.reminder_due(now, reminder_days):
            quiet[f.owner] = quiet.get(f.owner, 0) + 1
            continue
        control = controls.get(f.control_id)
        entry = lapsed_by_key.get(key)
        items.append(
            Item(
                key=key,
                change=Change.REMINDER if known else Change.NEW,
                category=_category(f, lapsed_by_key, controls),
                owner=f.owner,
                route=routes[key],
                control_id=f.control_id,
                control_title=f.control_title,
                severity=f.severity,
                remediation=control.remediation if control else "",
                resource_name=f.resource_name,
                resource_arn=f.resource_arn,
                account=f.account,
                region=f.region,
                status=str(f.status),
                observed=f.observed,
                expected=f.expected,
                message=f.message,
                first_seen=known.first_seen if known else now.isoformat(),
                age_days=known.age_days(now) if known else 0,
                thread=known.thread if known else "",
                announced_to=known.destination if known else "",
                exception={"id": entry.id, "expired": str(entry.expiry_date), "approver": entry.approver}
                if entry
                else {},
            )
        )
    for key, known in sorted(state.open.items()):
        current = by_key.get(key)
        if (current is not None and current.status in NOTIFIED) or not scope.covers(known):
            continue
        control = controls.get(known.control_id)
        items.append(
            Item(
                key=key,
                change=Change.RESOLVED,
                category=Category(known.category),
                owner=known.owner,
                route=Route(known.destination, known.route, known.mention),
                control_id=known.control_id,
                control_title=control.title if control else known.control_id,
                severity=control.severity if control else "",
                remediation="",
                resource_name=known.resource_name,
                resource_arn=known.resource_arn,
                account=known.account,
                region=known.region,
                status=str(current.status) if current else "GONE",
                observed=current.observed if current else "",
                expected=current.expected if current else "",
                first_seen=known.first_seen,
                age_days=known.age_days(now),
                thread=known.thread,
                announced_to=known.destination,
                resolution=_resolution(current),
            )
        )
    return items, quiet
