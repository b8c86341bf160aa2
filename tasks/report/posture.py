"""Posture of one run: counts per status for each control and each framework, and a score.

The score is PASS / (PASS + FAIL + ERROR). ERROR counts against it because an unverified resource is not
a compliant one; EXCEPTED is left out because it is an accepted, approved and time-boxed risk, shown
beside the score rather than hidden in it. A run with nothing to decide has no score (None), not 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from complyflow.core.config import FRAMEWORK_INFO, FRAMEWORKS, Control
from complyflow.core.model import Finding, Status, posture_of
from complyflow.core.model import control_state as control_state  # re-exported: the coverage matrix shares it

FRAMEWORK_LABELS: dict[str, str] = {name: info.label for name, info in FRAMEWORK_INFO.items()}
ALL = "all"  # the whole run, whatever the framework

Counts = dict[str, int]


def empty_counts() -> Counts:
    return {str(s): 0 for s in Status}


def score(counts: Mapping[str, int]) -> float | None:
    """Share of PASS among decided-or-unknown verdicts, in percent; None when there is none."""
    return posture_of(counts).percent


def framework_mapping(controls: Iterable[Control]) -> dict[str, list[str]]:
    """Control id → the frameworks it is mapped to, in the catalog's framework order."""
    return {c.id: [f for f in FRAMEWORKS if c.frameworks.get(f)] for c in controls}  # type: ignore[call-overload]


@dataclass
class Posture:
    """Counts per status, per control and per framework (plus `all`)."""

    controls: dict[str, Counts] = field(default_factory=dict)
    frameworks: dict[str, Counts] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"controls": self.controls, "frameworks": self.frameworks}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Posture:
        def counts(raw: Mapping[str, Any]) -> Counts:
            return {**empty_counts(), **{str(k): int(v) for k, v in raw.items()}}

        return cls(
            controls={k: counts(v) for k, v in data.get("controls", {}).items()},
            frameworks={k: counts(v) for k, v in data.get("frameworks", {}).items()},
        )


def posture(findings: Iterable[Finding], mapping: Mapping[str, list[str]], control_ids: Iterable[str] = ()) -> Posture:
    """Posture of one run; `control_ids` adds controls that produced no finding, so they show as such."""
    result = Posture(controls={cid: empty_counts() for cid in control_ids}, frameworks={ALL: empty_counts()})
    for cid in result.controls:
        for framework in mapping.get(cid, []):
            result.frameworks.setdefault(framework, empty_counts())
    for finding in findings:
        status = str(finding.status)
        result.controls.setdefault(finding.control_id, empty_counts())[status] += 1
        result.frameworks[ALL][status] += 1
        for framework in mapping.get(finding.control_id, []):
            result.frameworks.setdefault(framework, empty_counts())[status] += 1
    order = {f: i for i, f in enumerate((ALL, *FRAMEWORKS))}
    result.frameworks = dict(sorted(result.frameworks.items(), key=lambda kv: order.get(kv[0], len(order))))
    result.controls = dict(sorted(result.controls.items()))
    return result
