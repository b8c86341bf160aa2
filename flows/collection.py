"""Evidence collection for a run: in this flow's own task runner, or fanned out to one deployment run per account.

Fanning out lets an organisation with hundreds of accounts spread collection over a work pool served by
several workers (Kubernetes or ECS in production); each account's run stages its tables under the evidence
root, and the parent merges them into one snapshot, one validation and one report.
"""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from complyflow.core.config import AccountScope, Config
from complyflow.core.model import BASE_COLUMNS, CollectorResult, EvidenceDocument, EvidenceGap
from tasks.aws import AccountSession, error_code, error_message
from tasks.collect.base import Collector
from tasks.steps import collect_task, open_account_task


@dataclass
class Collected:
    """Evidence of a run (or of one account), before it is stored."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    gaps: list[EvidenceGap] = field(default_factory=list)
    #: documents to seal with the run (organisation-scope collectors only, so never packed by an account run)
    documents: list[EvidenceDocument] = field(default_factory=list)
    account_owners: dict[str, str | None] = field(default_factory=dict)
    collected_by: dict[str, str] = field(default_factory=dict)  # account name → worker, when fanned out

    def extend(self, results: list[CollectorResult]) -> None:
        frames: dict[str, list[pd.DataFrame]] = defaultdict(list)
        for name, frame in self.tables.items():
            frames[name].append(frame)
        for result in results:
            self.gaps.extend(result.gaps)
            self.documents.extend(result.documents)
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
        EvidenceGap(
            account=account.id or account.name,
            region=region,
            service=c.service,
            tables=c.tables,
            operation="sts:AssumeRole" if account.role_arn else "sts:GetCallerIdentity",
            error_code=error_code(exc),
            message=error_message(exc),
        )
        for c in collectors
        for region in _regions(config, c)
    ]


def open_accounts(
    config: Config, accounts: list[AccountScope], collectors: list[Collector], collected: Collected
) -> list[AccountSession]:
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


def collect_in_flow(
    config: Config,
    accounts: list[AccountScope],
    collectors: list[Collector],
    as_of: datetime,
    *,
    organization: bool = True,
) -> Collected:
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
        futures += [
            collect_task.submit(c, sessions[0], config.scope.global_region, as_of, config.directory, scope_regions)
            for c in collectors
            if c.scope == "organization"
        ]
    collected.extend([f.result() for f in futures])
    return collected


# --- fan-out over deployment runs ----------------------------------------------------------------


def pack(collected: Collected, worker: str = "") -> dict[str, Any]:
    """One account's evidence as JSON-safe data: the result of its deployment run.

    Tables travel as base64 Parquet (exact types, no pickle), through Prefect's result storage: local
    on one machine, an S3 bucket block (`PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK`) across workers.
    """
    return {
        "tables": {
            name: base64.b64encode(frame.reset_index(drop=True).to_parquet(index=False)).decode("ascii")
            for name, frame in collected.tables.items()
        },
        "gaps": [g.to_dict() for g in collected.gaps],
        "account_owners": collected.account_owners,
        "worker": worker,
    }


def unpack(data: dict[str, Any], account_name: str) -> Collected:
    tables = {name: pd.read_parquet(io.BytesIO(base64.b64decode(blob))) for name, blob in data["tables"].items()}
    return Collected(
        tables=tables,
        gaps=[EvidenceGap.from_dict(g) for g in data["gaps"]],
        account_owners=dict(data["account_owners"]),
        collected_by={account_name: str(data["worker"])},
    )


@task(
    name="collect-account-run",
    task_run_name="collect-account-{account.name}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def account_run_task(
    deployment: str, account: AccountScope, parameters: dict[str, Any], timeout_s: float
) -> dict[str, Any]:
    """Run one account's collection as a deployment run on the work pool; its result is the account's evidence."""
    from prefect.deployments import run_deployment

    flow_run = run_deployment(name=deployment, parameters=parameters, timeout=timeout_s, as_subflow=True)
    state = flow_run.state
    if state is None or not state.is_completed():
        raise RuntimeError(f"collection run for account {account.name} ended {state.name if state else 'unknown'}")
    return state.result()


def collect_fanned_out(
    config: Config,
    accounts: list[AccountScope],
    collectors: list[Collector],
    as_of: datetime,
    *,
    run_id: str,
    deployment: str,
    timeout_s: float,
) -> Collected:
    """One deployment run per account, then the organisation-wide sources here; merged into one."""
    tables = sorted({t for c in collectors if c.scope != "organization" for t in c.tables})
    futures = []
    for account in accounts:
        parameters = {
            "account": account.name,
            "run_id": run_id,
            "as_of": as_of.isoformat(),
            "tables": tables,
            "config_dir": config.directory,
        }
        futures.append((account, account_run_task.submit(deployment, account, parameters, timeout_s)))
    merged = Collected()
    for account, future in futures:
        try:
            part = unpack(future.result(), account.name)
        except Exception as exc:  # noqa: BLE001 - a lost account run is an evidence gap, not a lost run
            get_run_logger().error("collection for account %s failed: %s", account.name, exc)
            merged.gaps += _unreachable(config, account, [c for c in collectors if c.scope != "organization"], exc)
            merged.account_owners[account.id or account.name] = account.owner
            continue
        merged.account_owners.update(part.account_owners)
        merged.collected_by.update(part.collected_by)
        merged.gaps += part.gaps
        merged.extend([CollectorResult(tables=part.tables)])
    org = [c for c in collectors if c.scope == "organization"]
    if org:
        local = collect_in_flow(config, accounts[:1], org, as_of)
        merged.gaps += local.gaps
        merged.documents += local.documents
        merged.extend([CollectorResult(tables=local.tables)])
    return merged
