"""One digest per owner per run: their violations and evidence gaps, grouped by control.

LEGACY: kept only until flows/pipeline.py calls `tasks.notify.service.notify_run`; delete this module then.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from complyflow.model import Finding, Status

NOTIFIED = (Status.FAIL, Status.ERROR)


@dataclass
class Digest:
    owner: str
    run_id: str
    flow_run_url: str
    items: dict[str, list[Finding]] = field(default_factory=dict)  # control id → findings

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.items.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "run_id": self.run_id,
            "flow_run_url": self.flow_run_url,
            "controls": {
                control: [
                    {"status": str(f.status), "resource_arn": f.resource_arn, "resource_name": f.resource_name,
                     "region": f.region, "account": f.account, "observed": f.observed, "expected": f.expected,
                     "message": f.message, "key": f.key}
                    for f in items
                ]
                for control, items in sorted(self.items.items())
            },
        }


def build_digests(findings: list[Finding], run_id: str, flow_run_url: str = "") -> list[Digest]:
    """Violations (FAIL) and evidence gaps (ERROR) grouped by owner, then by control."""
    by_owner: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for finding in findings:
        if finding.status in NOTIFIED:
            by_owner[finding.owner][finding.control_id].append(finding)
    return [
        Digest(owner=owner, run_id=run_id, flow_run_url=flow_run_url, items=dict(controls))
        for owner, controls in sorted(by_owner.items())
    ]
