"""Run one collector and one catalog control against the emulated AWS, as the flow does."""

from __future__ import annotations

from datetime import UTC, datetime

from complyflow.core.config import AccountScope, load_config
from complyflow.core.model import CollectorResult, Finding
from flows.collection import Collected
from tasks.aws import open_account
from tasks.collect import TABLE_SOURCES, run_collector
from tasks.owners import assign_owners
from tasks.validate import findings_for_table, new_context
from tests.conftest import CONFIGS


def collect(
    table: str,
    regions: tuple[str, ...] = ("us-east-1",),
    account: AccountScope | None = None,
    as_of: datetime | None = None,
) -> CollectorResult:
    """Collect the evidence table `table` for one account in `regions` (global collectors once)."""
    collector = TABLE_SOURCES[table]
    session = open_account(account or AccountScope(name="test", owner="account-owner"), "us-east-1")
    when = as_of or datetime.now(UTC)
    results = [
        run_collector(collector, session, r, when, scope_regions=regions)
        for r in (regions if collector.scope == "regional" else ("us-east-1",))
    ]
    merged = Collected()
    merged.extend(results)
    return CollectorResult(tables=merged.tables, gaps=merged.gaps)


def evaluate(
    control_id: str,
    regions: tuple[str, ...] = ("us-east-1",),
    result: CollectorResult | None = None,
    account: AccountScope | None = None,
) -> list[Finding]:
    """Findings of one shipped control on freshly collected evidence."""
    config = load_config(CONFIGS)
    control = config.control(control_id)
    result = result or collect(control.evidence_table, regions, account)
    frame = result.tables[control.evidence_table]
    frame = assign_owners(frame, {}, config.owners)
    return findings_for_table(
        context=new_context(),
        run_id="test",
        table=control.evidence_table,
        frame=frame,
        controls=[control],
        gaps=result.gaps,
        evidence_file="evidence/test.parquet",
    )


def verdicts(control_id: str, **kwargs: object) -> dict[str, str]:
    """resource name → status for one control."""
    return {f.resource_name: str(f.status) for f in evaluate(control_id, **kwargs)}  # type: ignore[arg-type]
