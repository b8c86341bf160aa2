"""The data model shared by every step: evidence tables, evidence gaps, findings and runs.

Defined once here so that collectors, validation, notification and reports agree on field names;
the README's "Data model" section describes the same fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import pandas as pd

#: Columns every evidence table carries, whatever its collector.
BASE_COLUMNS: tuple[str, ...] = (
    "account",  # 12-digit AWS account id
    "region",  # AWS region (account-wide services such as IAM report the scope's global region)
    "resource_arn",  # the ARN exactly as AWS writes it
    "resource_type",  # e.g. AwsIamUser, AwsS3Bucket (OCSF / Security Hub style)
    "resource_id",  # unique row key within the table (the ARN, or ARN + sub-resource)
    "resource_name",  # human-readable name, untrusted text
    "tags",  # JSON object of the resource's tags, untrusted text
    "owner",  # resolved owner (filled from tags / config after collection)
)


class Status(StrEnum):
    """Verdict of one control on one resource."""

    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    FAIL = "FAIL"
    ERROR = "ERROR"  # evidence missing: a denied or failing API call, or an incomplete row
    EXCEPTED = "EXCEPTED"  # FAIL covered by a live, approved exception
    REMINDER = "REMINDER"  # an informational control's hit (a review falling due): never a violation


@dataclass(frozen=True, slots=True)
class Posture:
    """The one posture formula, for Slack, reports, the trend, artifacts and the CLI.

    score = PASS / (PASS + FAIL + ERROR): an unknown (ERROR) counts against, as it is not shown
    compliant. EXCEPTED (an accepted risk) and REMINDER (informational) are shown apart, outside it.
    """

    passed: int
    failed: int
    errors: int
    excepted: int
    reminders: int

    @property
    def judged(self) -> int:
        return self.passed + self.failed + self.errors

    @property
    def percent(self) -> float | None:
        return None if self.judged == 0 else round(100.0 * self.passed / self.judged, 1)

    def text(self) -> str:
        """E.g. `74.7 % compliant (118 of 158 checks pass; 1 excepted, 3 reminders apart)`."""
        if self.percent is None:
            return "no checks evaluated"
        apart = (
            f"; {self.excepted} excepted, {self.reminders} reminder(s) apart" if self.excepted or self.reminders else ""
        )
        return f"{self.percent:.1f} % compliant ({self.passed} of {self.judged} checks pass{apart})"


def posture_of(counts: Mapping[str, int]) -> Posture:
    return Posture(
        passed=counts.get(Status.PASS, 0),
        failed=counts.get(Status.FAIL, 0),
        errors=counts.get(Status.ERROR, 0),
        excepted=counts.get(Status.EXCEPTED, 0),
        reminders=counts.get(Status.REMINDER, 0),
    )


def control_state(counts: Mapping[str, int]) -> str:
    """One word for counts per status (a control's, a clause's): failing, error (evidence missing), reminder,
    passing, or no resources."""
    if counts.get("FAIL", 0):
        return "failing"
    if counts.get("ERROR", 0):
        return "error"
    if counts.get("REMINDER", 0):
        return "reminder"
    if counts.get("PASS", 0) or counts.get("EXCEPTED", 0):
        return "passing"
    return "no resources"


@dataclass(frozen=True, slots=True)
class EvidenceGap:
    """Evidence a collector could not gather; the controls reading it must report ERROR, never PASS."""

    account: str
    region: str
    service: str
    tables: tuple[str, ...]
    operation: str
    error_code: str
    message: str
    resource_id: str | None = None  # None: the whole (account, region, service) scope is missing
    #: the columns the failed call feeds (the collector's declaration); empty: every column of the row
    columns: tuple[str, ...] = ()

    def affects(self, columns: set[str] | frozenset[str]) -> bool:
        """Whether a control reading `columns` cannot be decided because of this gap."""
        return not self.columns or bool(set(self.columns) & columns)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["tables"] = list(self.tables)
        data["columns"] = list(self.columns)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvidenceGap:
        return cls(**{**data, "tables": tuple(data["tables"]), "columns": tuple(data.get("columns", ()))})


@dataclass(frozen=True, slots=True)
class EvidenceDocument:
    """A document copied into the sealed run (minutes, a drill report, an HR export), so an auditor sees it.

    `path` is relative to the run folder and already made safe (complyflow.core.recurring.document_path);
    the writer checks it again. Only organisation-scope collectors return documents: they run in the
    parent flow, so documents never travel through a fanned-out account run's result.
    """

    path: str
    data: bytes
    sha256: str
    source: str  # where it was read, for people (untrusted text: an S3 key or a file name)


@dataclass(slots=True)
class CollectorResult:
    """What one collector returns for one (account, region, service): tables, gaps and documents to seal."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    gaps: list[EvidenceGap] = field(default_factory=list)
    documents: list[EvidenceDocument] = field(default_factory=list)


@dataclass(slots=True)
class Finding:
    """Verdict of one control on one resource in one run."""

    run_id: str
    control_id: str
    control_title: str
    resource_arn: str
    resource_id: str
    resource_type: str
    resource_name: str
    account: str
    region: str
    status: Status
    severity: str
    owner: str
    observed: str
    expected: str
    evidence_file: str
    message: str = ""
    owner_route: str = ""  # how the owner was found: tag:<key>, account or fallback
    exception_id: str = ""
    notify_route: str = ""  # where the owner is told: "<via> -> <Slack destination>"

    @property
    def key(self) -> str:
        """Stable identity across runs: same control on the same resource."""
        return f"{self.control_id}|{self.account}|{self.region}|{self.resource_id}"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["status"] = str(self.status)
        data["key"] = self.key
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["status"] = Status(values["status"])
        return cls(**values)


@dataclass(slots=True)
class RunSummary:
    """One run: identity, scope, timing and counts per status."""

    run_id: str
    flow: str
    scope: dict[str, Any]
    started_at: datetime
    ended_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
    run_dir: str = ""
    flow_run_url: str = ""
    #: SHA-256 of the sealed manifest (the chain head): published outside the store as a witness
    manifest_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "flow": self.flow,
            "scope": self.scope,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "counts": self.counts,
            "run_dir": self.run_dir,
            "flow_run_url": self.flow_run_url,
            "manifest_sha256": self.manifest_sha256,
        }


def count_by_status(findings: list[Finding]) -> dict[str, int]:
    counts = {str(s): 0 for s in Status}
    for finding in findings:
        counts[str(finding.status)] += 1
    return counts
