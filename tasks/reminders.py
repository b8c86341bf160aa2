"""Reminders are not violations, and one resource gets the nearest reminder only.

A vendor due for review in 5 days matches both "due within 30 days" and "due within 7 days"; the
catalog says which reminder is nearer with `supersedes` (data, in the control's YAML), and only that one
is kept, so the owner is told once, with the more urgent message.
"""

from __future__ import annotations

from complyflow.core.config import Control
from complyflow.core.model import Finding, Status


def nearest_reminders(findings: list[Finding], controls: list[Control]) -> list[Finding]:
    """`findings` without the reminders superseded, for the same resource, by a nearer one."""
    superseded_by = {c.id: set(c.supersedes) for c in controls if c.supersedes}
    dropped: set[tuple[str, str, str, str]] = set()
    for finding in findings:
        if finding.status == Status.REMINDER and finding.control_id in superseded_by:
            resource = (finding.account, finding.region, finding.resource_id)
            dropped |= {(older, *resource) for older in superseded_by[finding.control_id]}
    return [
        f
        for f in findings
        if not (f.status == Status.REMINDER and (f.control_id, f.account, f.region, f.resource_id) in dropped)
    ]
