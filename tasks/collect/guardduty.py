"""GuardDuty: whether a detector watches each region in scope (AI Security Policy 6.1, threat detection).

One row per (account, region), so a region without any detector is a row that fails, not a missing one.
"""

from __future__ import annotations

from complyflow.core.tables import Column, TableSpec, call
from tasks.aws import paginate
from tasks.collect.base import CollectContext, Collector

TABLE = "guardduty_regions"
ENABLED = "ENABLED"


def collect_guardduty(ctx: CollectContext) -> None:
    guardduty = ctx.client()
    detectors = paginate(guardduty, "list_detectors", "DetectorIds")
    statuses = {detector: guardduty.get_detector(DetectorId=detector).get("Status", "") for detector in detectors}
    enabled = sorted(d for d, status in statuses.items() if status == ENABLED)
    ctx.add(
        TABLE,
        resource_arn=f"arn:{ctx.partition}:guardduty:{ctx.region}:{ctx.account_id}:detector",
        resource_type="AwsAccountRegion",
        resource_name=f"{ctx.account.name} {ctx.region}",
        detectors=len(detectors),
        detector_enabled=bool(enabled),
        detector_id=enabled[0] if enabled else (detectors[0] if detectors else ""),
    )


COLLECTOR = Collector(
    name="guardduty",
    service="guardduty",
    scope="regional",
    declares=(
        TableSpec(
            TABLE,
            "One row per (account, region): the region's GuardDuty detectors.",
            (
                Column("detectors", "integer", "GuardDuty detectors in the region (0 or 1 per account)"),
                Column("detector_enabled", "boolean", "a detector with status ENABLED watches the region"),
                Column("detector_id", "string", "the enabled detector's id (else any detector's); empty: none"),
            ),
        ),
    ),
    calls=(call("guardduty", "ListDetectors"), call("guardduty", "GetDetector", "detector_enabled", "detector_id")),
    collect=collect_guardduty,
    description="GuardDuty detector per region",
)
