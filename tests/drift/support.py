"""Helpers for the drift tests: the shipped configs with the model controls enabled, and one-control runs."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from complyflow.core.config import AccountScope, load_config
from complyflow.core.model import CollectorResult, Finding
from flows.collection import Collected
from tasks.aws import open_account
from tasks.collect import run_collector
from tasks.collect.base import Collector
from tasks.owners import assign_owners
from tasks.validate import findings_for_table, new_context

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ACCOUNT_OWNER = "account-owner"
MODEL_CONTROLS = (
    "model-inventory-registered",
    "model-inventory-complete",
    "model-drift-report-fresh",
    "model-drift-within-threshold",
    "model-quality-above-floor",
    "model-risk-assessment-current",
    "model-data-use-documented",
    "model-pia-current",
    "model-fairness-report-current",
    "model-ethics-approval",
    "model-documentation-linked",
    "model-human-oversight-defined",
)


def model_configs(target: Path) -> Path:
    """A copy of the shipped configs (the model controls ship enabled)."""
    shutil.copytree(REPO_CONFIGS, target)
    return target


def collect(
    collector: Collector, config_dir: Path, regions: tuple[str, ...] = ("us-east-1",), as_of: datetime | None = None
) -> CollectorResult:
    session = open_account(AccountScope(name="test", owner=ACCOUNT_OWNER), "us-east-1")
    results = [
        run_collector(collector, session, region, as_of or datetime.now(UTC), config_dir)
        for region in (regions if collector.scope == "regional" else ("us-east-1",))
    ]
    merged = Collected()
    merged.extend(results)
    return CollectorResult(tables=merged.tables, gaps=merged.gaps)


def evaluate(control_id: str, config_dir: Path, result: CollectorResult) -> list[Finding]:
    """Findings of one catalog control on collected evidence, decided by GX as in the flow."""
    config = load_config(config_dir)
    control = config.control(control_id)
    frame = result.tables[control.evidence_table]
    accounts = {str(a): ACCOUNT_OWNER for a in frame.get("account", [])}
    frame = assign_owners(frame, accounts, config.owners)
    return findings_for_table(
        context=new_context(),
        run_id="test",
        table=control.evidence_table,
        frame=frame,
        controls=[control],
        gaps=result.gaps,
        evidence_file="evidence/test.parquet",
    )


def verdicts(control_id: str, config_dir: Path, result: CollectorResult) -> dict[str, str]:
    """resource name → status for one control."""
    return {f.resource_name: str(f.status) for f in evaluate(control_id, config_dir, result)}
