"""Evidence collection for a run: in this flow's own task runner, or fanned out to one deployment run per account.

Fanning out lets an organisation with hundreds of accounts spread collection over a work pool served by
several workers (Kubernetes or ECS in production); each account's run stages its tables under the evidence
root, and the parent merges them into one snapshot, one validation and one report.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from complyflow.config import AccountScope, Config
from complyflow.model import BASE_COLUMNS, CollectorResult, EvidenceGap
from tasks.aws import AccountSession, error_code, error_message
from tasks.collect.base import Collector
from tasks.evidence import atomic_write_bytes, atomic_write_json
from tasks.steps import collect_task, open_account_task

STAGING = "staging"


@dataclass
class Collected:
    """Evidence of a run (or of one account), before it is stored."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    gaps: list[EvidenceGap] = field(default_factory=list)
    account_owners: dict[str, str | None] = field(default_factory=dict)
    collected_by: dict[str, str] = field(default_factory=dict)  # account name → worker, when fanned out

    def extend(self, results: list[CollectorResult]) -> None:
        frames: dict[str, list[pd.DataFrame]] = defaultdict(list)
        for name, frame in self.tables.items():
            frames[name].append(frame)
        for result in results:
            self.gaps.extend(result.gaps)
            for name, frame in result.tables.items():
                frames[name].append(frame)
        for name, parts in frames.items():
            non_empty = [p for p in parts if not p.empty]
            self.tables[name] = (
                pd.concat(non_empty, ignore_index=True) if non_empty else pd.DataFrame(columns=list(BASE_COLUMNS))
            )


def _regions(config: Config, collector: Collector) -> list[str]:
    return config.scope.regions if collector.scope == "regional" else [config.scope.global_region]


def _unreachable(
    config: Config, account: AccountScope, collectors: list[Collector], exc: Exception
) -> list[EvidenceGap]:
    """An account whose credentials cannot be had: every scope of it is an evidence gap."""
    return [
        EvidenceGap(account=account.id or account.name, region=region, service=c.service, tables=c.tables,
                    operation="sts:AssumeRole" if account.role_arn else "sts:GetCallerIdentity",
                    error_code=error_code(exc), message=error_message(exc))
        for c in collectors
        for region in _regions(config, c)
    ]


def open_accounts(config: Config, accounts: list[AccountScope], collectors: list[Collector],
                  collected: Collected) -> list[AccountSession]:
    futures = [(a, open_account_task.submit(a, config.scope.global_region)) for a in accounts]
    sessions = []
    for account, future in futures:
        try:
            session = future.result()
        except Exception as exc:  # noqa: BLE001 - any failure to get credentials is an evidence gap
            get_run_logger().error("account %s unreachable: %s", account.name, error_code(exc))
            collected.gaps += _unreachable(config, account, collectors, exc)
            collected.account_owners[account.id or account.name] = account.owner
            continue
        collected.account_owners[session.account_id] = session.owner
        sessions.append(session)
    return sessions


def collect_in_flow(config: Config, accounts: list[AccountScope], collectors: list[Collector],
                    as_of: datetime, *, organization: bool = True) -> Collected:
    """Collect every (account, region, service) as concurrent tasks of the current flow."""
    collected = Collected()
    per_account = [c for c in collectors if c.scope != "organization"]
    sessions = open_accounts(config, accounts, per_account, collected)
    scope_regions = tuple(config.scope.regions)
    futures = [
        collect_task.submit(collector, session, region, as_of, config.directory, scope_regions)
        for session in sessions
        for collector in per_account
        for region in _regions(config, collector)
    ]
    if organization and sessions:
        futures += [collect_task.submit(c, sessions[0], config.scope.global_region, as_of, config.directory,
                                        scope_regions) for c in collectors if c.scope == "organization"]
    collected.extend([f.result() for f in futures])
    return collected


# --- fan-out over deployment runs ----------------------------------------------------------------


def staging_dir(root: Path, run_id: str, account_name: str) -> Path:
    return root / STAGING / run_id / account_name


def stage(collected: Collected, directory: Path, worker: str = "") -> None:
    """Write one account's evidence where the parent run will merge it."""
    for name, frame in collected.tables.items():
        atomic_write_bytes(directory / f"{name}.parquet", frame.reset_index(drop=True).to_parquet(index=False))
    atomic_write_json(directory / "gaps.json", [g.to_dict() for g in collected.gaps])
    atomic_write_json(directory / "accounts.json", collected.account_owners)
    atomic_write_json(directory / "provenance.json", {"worker": worker})


def unstage(directory: Path) -> Collected:
    tables = {p.stem: pd.read_parquet(p) for p in sorted(directory.glob("*.parquet"))}
    gaps = [EvidenceGap.from_dict(g) for g in json.loads((directory / "gaps.json").read_text(encoding="utf-8"))]
    owners = json.loads((directory / "accounts.json").read_text(encoding="utf-8"))
    worker = json.loads((directory / "provenance.json").read_text(encoding="utf-8")).get("worker", "")
    return Collected(tables=tables, gaps=gaps, account_owners=owners, collected_by={directory.name: worker})


@task(name="collect-account-run", task_run_name="collect-account-{account.name}", cache_policy=NO_CACHE,
      persist_result=False)
def account_run_task(deployment: str, account: AccountScope, parameters: dict[str, Any], timeout_s: float) -> str:
    """Run one account's collection as a deployment run on the work pool and wait for it."""
    from prefect.deployments import run_deployment

    flow_run = run_deployment(name=deployment, parameters=parameters, timeout=timeout_s, as_subflow=True)
    state = flow_run.state
    if state is None or not state.is_completed():
        raise RuntimeError(f"collection run for account {account.name} ended {state.name if state else 'unknown'}")
    return str(flow_run.id)


def collect_fanned_out(config: Config, accounts: list[AccountScope], collectors: list[Collector], as_of: datetime,
                       *, run_id: str, root: Path, deployment: str, timeout_s: float) -> Collected:
    """One deployment run per account, then the organisation-wide sources here; merged into one."""
    tables = sorted({t for c in collectors if c.scope != "organization" for t in c.tables})
    futures = []
    for account in accounts:
        parameters = {"account": account.name, "run_id": run_id, "as_of": as_of.isoformat(), "tables": tables,
                      "config_dir": config.directory, "evidence_dir": str(root)}
        futures.append((account, account_run_task.submit(deployment, account, parameters, timeout_s)))
    merged = Collected()
    for account, future in futures:
        try:
            future.result()
            part = unstage(staging_dir(root, run_id, account.name))
        except Exception as exc:  # noqa: BLE001 - a lost account run is an evidence gap, not a lost run
            get_run_logger().error("collection for account %s failed: %s", account.name, exc)
            merged.gaps += _unreachable(config, account, [c for c in collectors if c.scope != "organization"], exc)
            merged.account_owners[account.id or account.name] = account.owner
            continue
        merged.account_owners.update(part.account_owners)
        merged.collected_by.update(part.collected_by)
        merged.gaps += part.gaps
        merged.extend([CollectorResult(tables=part.tables)])
    shutil.rmtree(root / STAGING / run_id, ignore_errors=True)  # merged: the run folder is the record now
    org = [c for c in collectors if c.scope == "organization"]
    if org:
        local = collect_in_flow(config, accounts[:1], org, as_of)
        merged.gaps += local.gaps
        merged.extend([CollectorResult(tables=local.tables)])
    return merged
