"""The compliance run every deployment shares: collect → store → validate → notify → report."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from prefect import get_run_logger, runtime

from complyflow.config import FRAMEWORKS, AccountScope, Config, Control, load_config
from complyflow.model import BASE_COLUMNS, CollectorResult, EvidenceGap, Finding, RunSummary, count_by_status
from tasks import artifacts
from tasks.access_review import ACCESS_REVIEW_CSV, access_review_csv
from tasks.collect import collectors_for
from tasks.evidence import RunFolder, evidence_root, new_run_id, seal
from tasks.exceptions import apply_exceptions
from tasks.findings import FINDINGS_CSV, FINDINGS_JSON, findings_csv
from tasks.notify.deliver import deliver
from tasks.notify.digest import build_digests
from tasks.owners import assign_owners, fill_missing_owners
from tasks.steps import collect_task, open_account_task, validate_task


def select_controls(
    config: Config, control_ids: list[str] | None = None, frameworks: list[str] | None = None
) -> list[Control]:
    """Enabled controls, narrowed to the ids and/or frameworks asked for (a typo is an error, not a no-op)."""
    controls = config.enabled_controls
    if control_ids:
        unknown = set(control_ids) - {c.id for c in config.controls}
        if unknown:
            raise ValueError(f"unknown control id(s): {', '.join(sorted(unknown))}")
        controls = [c for c in controls if c.id in control_ids]
    if frameworks:
        unknown = set(frameworks) - set(FRAMEWORKS)
        if unknown:
            raise ValueError(f"unknown framework(s): {', '.join(sorted(unknown))}; known: {', '.join(FRAMEWORKS)}")
        controls = [c for c in controls if any(c.frameworks.get(f) for f in frameworks)]  # type: ignore[call-overload]
    if not controls:
        raise ValueError("no enabled control matches the selection")
    return controls


def select_accounts(config: Config, accounts: list[str] | None) -> list[AccountScope]:
    """Accounts in scope, narrowed by name or id when asked."""
    if not accounts:
        return list(config.scope.accounts)
    chosen = [a for a in config.scope.accounts if a.name in accounts or (a.id and a.id in accounts)]
    known = {a.name for a in chosen} | {a.id for a in chosen if a.id}
    unknown = set(accounts) - known
    if unknown:
        raise ValueError(f"account(s) not in scope.yaml: {', '.join(sorted(unknown))}")
    return chosen


def merge_tables(results: list[CollectorResult]) -> tuple[dict[str, pd.DataFrame], list[EvidenceGap]]:
    frames: dict[str, list[pd.DataFrame]] = defaultdict(list)
    gaps: list[EvidenceGap] = []
    for result in results:
        gaps.extend(result.gaps)
        for name, frame in result.tables.items():
            frames[name].append(frame)
    tables = {}
    for name, parts in frames.items():
        non_empty = [p for p in parts if not p.empty]
        empty = pd.DataFrame(columns=list(BASE_COLUMNS))
        tables[name] = pd.concat(non_empty, ignore_index=True) if non_empty else empty
    return tables, gaps


def run_compliance(
    *,
    flow_name: str,
    config_dir: str | None,
    evidence_dir: str | None,
    control_ids: list[str] | None = None,
    frameworks: list[str] | None = None,
    accounts: list[str] | None = None,
) -> dict[str, Any]:
    """One whole run; returns the run summary as plain data (for the CLI, tests and artifacts)."""
    logger = get_run_logger()
    config = load_config(config_dir)
    controls = select_controls(config, control_ids, frameworks)
    in_scope = select_accounts(config, accounts)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    started = datetime.now(UTC)
    root = evidence_root(evidence_dir)
    run_id = new_run_id(started)
    folder = RunFolder(root, run_id).create()
    logger.info("run %s: %d controls, evidence in %s", run_id, len(controls), folder.path)

    # 1. Collect: one task per (account, region, service), concurrently.
    sessions = [open_account_task.submit(a, config.scope.global_region) for a in in_scope]
    sessions = [s.result() for s in sessions]
    needed = collectors_for({c.evidence_table for c in controls})
    futures = []
    for index, session in enumerate(sessions):
        for collector in needed:
            if collector.scope == "organization" and index > 0:
                continue  # organisation-wide sources (registers, inventories) are read once per run
            regions = config.scope.regions if collector.scope == "regional" else [config.scope.global_region]
            futures.extend(collect_task.submit(collector, session, region, started, config.directory)
                           for region in regions)
    tables, gaps = merge_tables([f.result() for f in futures])
    owners_by_account = {s.account_id: s.owner for s in sessions}
    clock = _lap(timings, "collect", clock)

    # 2. Store the evidence snapshot, written once.
    files: dict[str, str] = {}
    for name in sorted(tables):
        tables[name] = assign_owners(tables[name], owners_by_account, config.owners)
        files[name] = folder.write_table(name, tables[name])
    folder.write_json("evidence/gaps.json", [g.to_dict() for g in gaps])
    clock = _lap(timings, "store", clock)

    # 3. Validate with Great Expectations, one suite per evidence table.
    findings: list[Finding] = []
    by_table: dict[str, list[Control]] = defaultdict(list)
    for control in controls:
        by_table[control.evidence_table].append(control)
    for table, table_controls in sorted(by_table.items()):
        frame = tables.get(table, pd.DataFrame(columns=list(BASE_COLUMNS)))
        findings += validate_task(run_id, table, frame, table_controls, gaps, files.get(table, ""))
    findings = fill_missing_owners(findings, owners_by_account, config)
    outcome = apply_exceptions(findings, config.exceptions, started.date())
    findings = outcome.findings
    clock = _lap(timings, "validate", clock)

    # 4. Write findings and seal the run.
    ended = datetime.now(UTC)
    summary = RunSummary(
        run_id=run_id, flow=flow_name,
        scope={"accounts": sorted(owners_by_account), "regions": config.scope.regions,
               "controls": [c.id for c in controls], "frameworks": frameworks or []},
        started_at=started, ended_at=ended, counts=count_by_status(findings), run_dir=str(folder.path),
        flow_run_url=_flow_run_url(),
    )
    folder.write_json(FINDINGS_JSON, {"run": summary.to_dict(), "findings": [f.to_dict() for f in findings]})
    folder.write_text(FINDINGS_CSV, findings_csv(findings))
    if "iam_principals" in tables:
        folder.write_text(ACCESS_REVIEW_CSV, access_review_csv(tables["iam_principals"]))
    folder.write_json("run.json", summary.to_dict())
    seal(folder, {"flow": flow_name, "config_dir": config.directory, "started_at": started.isoformat()})

    clock = _lap(timings, "report", clock)

    # 5. Notify owners, then publish what a person inspects in the UI.
    digests = build_digests(findings, run_id, summary.flow_run_url)
    delivery = deliver(digests, config.notify, config.owners, root)
    clock = _lap(timings, "notify", clock)
    artifacts.publish(summary, findings, controls)
    _lap(timings, "artifacts", clock)
    logger.info("run %s finished: %s; %d digest(s) via %s", run_id, json.dumps(summary.counts), len(digests),
                delivery.channel)
    result = summary.to_dict()
    result["timings"] = timings
    result["notifications"] = {"digests": len(digests), "channel": delivery.channel,
                               "outbox_file": delivery.outbox_file}
    return result


def _lap(timings: dict[str, float], step: str, since: float) -> float:
    now = time.perf_counter()
    timings[step] = round(now - since, 3)
    return now


def run_name(kind: str) -> Callable[[], str]:
    """Flow-run names carry the date and the scope, e.g. `nightly-2026-11-29-all-controls`."""

    def name() -> str:
        params = runtime.flow_run.parameters or {}
        chosen = params.get("controls") or params.get("frameworks")
        scope = "-".join(chosen)[:40] if chosen else "all-controls"
        return f"{kind}-{datetime.now(UTC):%Y-%m-%d}-{scope}"

    return name


def _flow_run_url() -> str:
    try:
        return str(runtime.flow_run.ui_url or "")
    except Exception:  # noqa: BLE001 - outside a flow run there is simply no URL
        return ""
