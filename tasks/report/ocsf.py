"""OCSF 1.x Detection Findings, built with `py-ocsf-models` the way Prowler builds its `json-ocsf` output.

One Detection Finding per resource and control: `metadata.event_code` is the control id,
`resources[0].uid` the ARN, `resources[0].region` its region and `resources[0].owner` its owner; the
framework mapping goes to `unmapped.compliance` as Prowler does. Verdicts map to Prowler's vocabulary, so
that tools reading Prowler's OCSF read ours:

- PASS → status_code PASS, status_id New (as Prowler).
- FAIL → status_code FAIL, status_id New (as Prowler).
- EXCEPTED → status_code FAIL, status_id Suppressed: Prowler's "muted", a violation accepted by an
  approved, time-boxed exception.
- ERROR → status_code MANUAL, status_id New: evidence was missing, and MANUAL is Prowler's word for "the
  tool could not decide, a person must check". It is never PASS.

The exact complyflow verdict, observed and expected values, exception and run id are kept in
`unmapped.complyflow`, so nothing is lost in the mapping.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import TextIO

from py_ocsf_models.events.findings.activity_id import ActivityID
from py_ocsf_models.events.findings.detection_finding import DetectionFinding, DetectionFindingTypeID
from py_ocsf_models.events.findings.severity_id import SeverityID
from py_ocsf_models.events.findings.status_id import StatusID
from py_ocsf_models.objects.account import Account, TypeID
from py_ocsf_models.objects.cloud import Cloud
from py_ocsf_models.objects.finding_info import FindingInformation
from py_ocsf_models.objects.group import Group
from py_ocsf_models.objects.metadata import Metadata
from py_ocsf_models.objects.product import Product
from py_ocsf_models.objects.remediation import Remediation
from py_ocsf_models.objects.resource_details import ResourceDetails
from py_ocsf_models.objects.user import User

from complyflow import __version__
from complyflow.core.config import FRAMEWORK_INFO, Control
from complyflow.core.model import Finding, Status
from tasks.jsonstream import write_array

#: Framework keys of `unmapped.compliance`, in Prowler's "NAME-VERSION" style.
COMPLIANCE_NAMES = {name: info.ocsf_name for name, info in FRAMEWORK_INFO.items()}
STATUS_CODES = {
    Status.PASS: "PASS",
    Status.FAIL: "FAIL",
    Status.EXCEPTED: "FAIL",
    Status.ERROR: "MANUAL",
    Status.REMINDER: "MANUAL",  # informational: a person acts on it, it is not a failed check
}
USER_TYPE_USER, USER_TYPE_OTHER = 1, 99  # OCSF user.type_id: a person (e-mail) or a team
PRODUCT = Product(name="complyflow", uid="complyflow", vendor_name="complyflow", version=__version__)


def _arn_part(arn: str, index: int, default: str) -> str:
    parts = arn.split(":")
    return parts[index] if len(parts) > index and parts[0] == "arn" and parts[index] else default


def _account(account_id: str) -> Account:
    return Account(name=account_id, uid=account_id, type_id=TypeID.AWS_Account, type="AWS Account")


def _owner(finding: Finding) -> User | None:
    if not finding.owner:
        return None
    person = "@" in finding.owner
    return User(
        name=finding.owner,
        uid=finding.owner,
        type_id=USER_TYPE_USER if person else USER_TYPE_OTHER,
        type="User" if person else "Team",
        email_addr=finding.owner if person else None,
        account=_account(finding.account),
    )


def _status_extended(finding: Finding) -> str:
    """One sentence per finding, like Prowler's `status_extended`."""
    if finding.status == Status.PASS:
        return f"{finding.resource_name}: {finding.observed}."
    if finding.status == Status.ERROR:
        return f"{finding.resource_name}: not verified, {finding.message or 'evidence missing'}."
    text = f"{finding.resource_name}: {finding.observed}, expected {finding.expected}."
    return f"{text} {finding.message}." if finding.status == Status.EXCEPTED and finding.message else text


def detection_finding(finding: Finding, control: Control, at: datetime) -> DetectionFinding:
    """The OCSF Detection Finding of one complyflow finding, evaluated at `at` (the run's start)."""
    status_id = StatusID.Suppressed if finding.status == Status.EXCEPTED else StatusID.New
    severity = getattr(SeverityID, control.severity.capitalize(), SeverityID.Unknown)
    activity = ActivityID.Create
    seconds = int(at.timestamp())
    message = _status_extended(finding)
    return DetectionFinding(
        message=message,
        activity_id=activity.value,
        activity_name=activity.name,
        finding_info=FindingInformation(
            uid=f"complyflow-aws-{finding.control_id}-{finding.account}-{finding.region}-{finding.resource_id}",
            title=control.title,
            desc=control.rationale,
            created_time=seconds,
            created_time_dt=at,
        ),
        time=seconds,
        time_dt=at,
        severity_id=severity.value,
        severity=severity.name,
        status_id=status_id.value,
        status=status_id.name,
        status_code=STATUS_CODES[finding.status],
        status_detail=message,
        risk_details=control.rationale,
        remediation=Remediation(desc=control.remediation),
        resources=[
            ResourceDetails(
                uid=finding.resource_arn,
                name=finding.resource_name,
                type=finding.resource_type,
                region=finding.region,
                cloud_partition=_arn_part(finding.resource_arn, 1, "aws"),
                group=Group(name=_arn_part(finding.resource_arn, 2, "unknown")),
                owner=_owner(finding),
                data={
                    "details": {"observed": finding.observed, "expected": finding.expected},
                    "metadata": {"resource_id": finding.resource_id, "evidence_file": finding.evidence_file},
                },
            )
        ],
        metadata=Metadata(event_code=finding.control_id, product=PRODUCT, profiles=["cloud", "datetime"]),
        cloud=Cloud(provider="aws", region=finding.region, account=_account(finding.account)),
        type_uid=DetectionFindingTypeID.Create,
        type_name=f"Detection Finding: {DetectionFindingTypeID.Create.name}",
        unmapped={
            "compliance": {COMPLIANCE_NAMES[f]: list(refs) for f, refs in control.frameworks.items() if refs},
            "policy_clause": f"{control.policy_clause.document} {control.policy_clause.section}",
            "complyflow": {
                "status": str(finding.status),
                "run_id": finding.run_id,
                "key": finding.key,
                "observed": finding.observed,
                "expected": finding.expected,
                "owner": finding.owner,
                "owner_route": finding.owner_route,
                "exception_id": finding.exception_id,
                "message": finding.message,
            },
        },
    )


def ocsf_findings(
    findings: Iterable[Finding], controls: Mapping[str, Control], at: datetime
) -> Iterator[DetectionFinding]:
    """Detection Findings for a run, one at a time; a finding whose control is not in `controls` is a bug."""
    for finding in findings:
        control = controls.get(finding.control_id)
        if control is None:
            raise KeyError(f"finding for {finding.control_id!r}, a control not in this run's catalog")
        yield detection_finding(finding, control, at)


def write_ocsf_json(handle: TextIO, findings: Iterable[Finding], controls: Mapping[str, Control], at: datetime) -> int:
    """A JSON array of Detection Findings, `None` fields left out, as Prowler's `*.ocsf.json`; streamed."""
    count = write_array(
        handle, (d.model_dump(mode="json", exclude_none=True) for d in ocsf_findings(findings, controls, at))
    )
    handle.write("\n")
    return count


def ocsf_json(findings: Iterable[Finding], controls: Mapping[str, Control], at: datetime) -> str:
    buffer = io.StringIO()
    write_ocsf_json(buffer, findings, controls, at)
    return buffer.getvalue()
