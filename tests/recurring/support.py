"""Run the recurring-evidence collector and its controls on a scratch config directory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from complyflow.core.config import AccountScope, load_config
from complyflow.core.model import CollectorResult, Finding
from tasks.aws import open_account
from tasks.collect import run_collector
from tasks.collect.recurring import COLLECTOR
from tasks.owners import assign_owners
from tasks.validate import findings_for_table, new_context

NOW = datetime(2026, 6, 15, 9, tzinfo=UTC)
ACCOUNT = AccountScope(name="test", id="123456789012", owner="account-owner")


def task(task_id: str, evidence: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": task_id,
        "title": f"Task {task_id}",
        "owner": "security-team",
        "policy_clause": {"document": "AI Security Policy", "section": "6.3 Incident Response"},
        "cadence": 30,
        "grace_days": 5,
        "remind_days": 7,
        "evidence": evidence,
    }
    data.update(changes)
    return data


def write_tasks(configs: Path, tasks: list[dict[str, Any]], **settings: Any) -> None:
    (configs / "recurring.yaml").write_text(yaml.safe_dump({**settings, "tasks": tasks}), encoding="utf-8")


def collect(configs: Path, as_of: datetime = NOW) -> CollectorResult:
    session = open_account(ACCOUNT, "us-east-1")
    return run_collector(COLLECTOR, session, "us-east-1", as_of, configs)


def row(result: CollectorResult, task_id: str) -> dict[str, Any]:
    frame: pd.DataFrame = result.tables["recurring_evidence"]
    return frame.set_index("task_id").loc[task_id].to_dict()


def evaluate(configs: Path, result: CollectorResult) -> list[Finding]:
    config = load_config(configs)
    controls = [c for c in config.controls if c.evidence_table == "recurring_evidence"]
    frame = assign_owners(result.tables["recurring_evidence"], {}, config.owners)
    return findings_for_table(
        context=new_context(),
        run_id="test",
        table="recurring_evidence",
        frame=frame,
        controls=controls,
        gaps=result.gaps,
        evidence_file="evidence/recurring_evidence.parquet",
    )


def statuses(findings: list[Finding]) -> dict[str, str]:
    return {f.control_id: str(f.status) for f in findings}
