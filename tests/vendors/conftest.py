"""Vendor-register fixtures: a scratch config dir with a register built per test, and GX verdicts on it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

import tasks.collect
from complyflow.core.config import load_config
from complyflow.core.model import CollectorResult, Finding
from tasks.aws import AccountSession
from tasks.collect import run_collector
from tasks.collect.vendors import COLLECTOR
from tasks.owners import assign_owners
from tasks.reminders import nearest_reminders
from tasks.validate import findings_for_table, new_context

#: The shipped configs (this repository's, whatever else points elsewhere).
CONFIGS = Path(__file__).resolve().parents[2] / "configs"
#: The fixed collection time of the boundary tests (early morning UTC: dates are UTC calendar dates).
AS_OF = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
ACCOUNT = AccountSession("123456789012", "ml-platform", "platform-team", boto3.Session())

SETTINGS: dict[str, Any] = {
    "source": {"kind": "inline"},
    "review_intervals_days": {"critical": 180, "high": 365, "medium": 365, "low": 365},
    "required_certifications": {"critical": ["ISO 27001", "SOC 2 Type II"], "high": ["ISO 27001"]},
}
COMPLIANT_ANSWERS = {
    "gdpr_ccpa_compliant": "yes",
    "encryption_at_rest": "yes",
    "encryption_in_transit": "yes",
    "data_deleted_on_request": "yes",
    "subprocessors_disclosed": "yes",
    "breach_notification_hours": 48,
    "certification_reports_shared": "yes",
    "trains_on_customer_data": "no",
    "prompt_output_retention_days": 30,
}


def vendor(name: str, **overrides: Any) -> dict[str, Any]:
    """A register row that passes every vendor control on AS_OF (low tier, no AI); override to break one."""
    row: dict[str, Any] = {
        "vendor": name,
        "service": "Test service",
        "risk_tier": "low",
        "personal_data": True,
        "uses_ai": False,
        "business_owner": "Head of Testing",
        "security_owner": "sec@example.com",
        "last_assessment": "2026-10-01",
        "dpa_signed": "2025-01-01",
        "right_to_audit": False,
        "answers": {
            k: v
            for k, v in COMPLIANT_ANSWERS.items()
            if k not in ("trains_on_customer_data", "prompt_output_retention_days")
        },
    }
    row.update(overrides)
    return {k: v for k, v in row.items() if v is not None}


@pytest.fixture
def vendor_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config dir (a copy of the shipped one) whose vendors.yaml holds the given rows and settings."""

    def write(rows: list[dict[str, Any]] | None = None, text: str | None = None, **settings: Any) -> Path:
        target = tmp_path / "configs"
        if not target.exists():
            shutil.copytree(CONFIGS, target)
        shutil.rmtree(target / "vendor-answers", ignore_errors=True)
        data = {**SETTINGS, **settings}
        if rows is not None:
            data["vendors"] = rows
        (target / "vendors.yaml").write_text(text if text is not None else yaml.safe_dump(data, sort_keys=False))
        return target

    return write


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vendor collector in the registry, as the lead wires it in tasks/collect/__init__.py."""
    if COLLECTOR not in tasks.collect.COLLECTORS:
        monkeypatch.setattr(tasks.collect, "COLLECTORS", (*tasks.collect.COLLECTORS, COLLECTOR))
        monkeypatch.setattr(
            tasks.collect,
            "TABLE_SOURCES",
            {**tasks.collect.TABLE_SOURCES, **dict.fromkeys(COLLECTOR.tables, COLLECTOR)},
        )


def collect(config_dir: Path, as_of: datetime = AS_OF) -> CollectorResult:
    return run_collector(COLLECTOR, ACCOUNT, "us-east-1", as_of, config_dir)


def findings(config_dir: Path, as_of: datetime = AS_OF, result: CollectorResult | None = None) -> list[Finding]:
    """Every vendor control of `config_dir` on its register, decided by GX as in a run."""
    config = load_config(config_dir)
    result = result or collect(config_dir, as_of)
    context = new_context()
    out: list[Finding] = []
    for table in COLLECTOR.tables:
        controls = [c for c in config.enabled_controls if c.evidence_table == table]
        frame = assign_owners(result.tables[table], {ACCOUNT.account_id: ACCOUNT.owner}, config.owners)
        out += findings_for_table(
            context=context,
            run_id="test",
            table=table,
            frame=frame,
            controls=controls,
            gaps=result.gaps,
            evidence_file=f"evidence/{table}.parquet",
        )
    return nearest_reminders(out, config.controls)  # as the run does


def verdicts(found: list[Finding]) -> dict[tuple[str, str], str]:
    """(control id, resource name) → status."""
    return {(f.control_id, f.resource_name): str(f.status) for f in found}


def failures(found: list[Finding]) -> set[tuple[str, str]]:
    return {(f.control_id, f.resource_name) for f in found if str(f.status) == "FAIL"}


def reminders(found: list[Finding]) -> set[tuple[str, str]]:
    return {(f.control_id, f.resource_name) for f in found if str(f.status) == "REMINDER"}
