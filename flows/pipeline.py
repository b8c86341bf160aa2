"""The compliance run every deployment shares: collect → store → validate → notify → report."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from prefect import get_run_logger, runtime

from complyflow.core.config import Control
from complyflow.core.coverage import RunStatus, coverage_matrix
from complyflow.core.model import BASE_COLUMNS, Finding, RunSummary, count_by_status
from complyflow.core.process_exit import skip_final_gc_at_exit
from flows.collection import collect_fanned_out, collect_in_flow
from flows.selection import select_accounts, select_controls
from tasks import artifacts
from tasks.access_review import ACCESS_REVIEW_CSV, access_review_csv
from tasks.access_review_notices import pending_notices
from tasks.access_reviews import (
    REVIEWS_TABLE,
    REVOCATIONS_TABLE,
    derive_review_tables,
    derived_gaps,
    with_review_inputs,
)
from tasks.access_reviews import load_state as load_review_state
from tasks.check import check_config
from tasks.collect import collectors_for
from tasks.evidence import RunFolder, evidence_root, interrupted_runs, manifest_witness, new_run_id, open_store, seal
from tasks.exception_register import REGISTER_JSON, expiry_notices, load_register, with_register
from tasks.exceptions import apply_exceptions
from tasks.findings import FINDINGS_CSV, FINDINGS_JSON, write_findings_csv, write_findings_json
from tasks.notify.notices import send_notices
from tasks.notify.service import notify_run, route_findings
from tasks.owners import assign_owners, fill_missing_owners
from tasks.recurring.documents import write_documents
from tasks.reminders import nearest_reminders
from tasks.report.writer import write_reports
from tasks.report_artifacts import publish_report_links
from tasks.signing import run_signer
from tasks.steps import validate_task
from tasks.validate import DOCS_DIR


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
    skip_final_gc_at_exit()  # a worker's flow-run process too exits without a last pass over the run's heap
    checked = check_config(config_dir)  # every config file, before any AWS call (as `complyflow check`)
    for warning in checked.warnings:
        logger.warning("a run reports as ERROR: %s", warning)
    config = checked.config
    controls = select_controls(config, control_ids, frameworks)
    in_scope = select_accounts(config, accounts)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    started = datetime.now(UTC)
    root = evidence_root(evidence_dir)
    store = open_store(config.directory, evidence_dir)  # local by default; S3 per configs/evidence-store.yaml
    run_id = new_run_id(started)
    for earlier in interrupted_runs(store, before=run_id):
        logger.warning("run %s was interrupted before it was sealed: not part of the evidence chain", earlier)
    folder = RunFolder(root, run_id).create()
    logger.info("run %s: %d controls, evidence in %s", run_id, len(controls), folder.path)
    # Exceptions: exceptions.yaml merged with the sealed decisions of exception requests.
    register = load_register(config, store, started.date())
    config = with_register(config, register)
    for problem in register.conflicts + register.problems:
        logger.warning("exceptions register: %s", problem)

    # 1. Collect: one task per (account, region, service), here or fanned out per account.
    needed = collectors_for(with_review_inputs({c.evidence_table for c in controls}))
    execution = config.scope.execution
    if execution.mode == "deployments":
        collected = collect_fanned_out(
            config,
            in_scope,
            needed,
            started,
            run_id=run_id,
            deployment=execution.collect_deployment,
            timeout_s=execution.timeout_seconds,
        )
    else:
        collected = collect_in_flow(config, in_scope, needed, started)
    tables, gaps, owners_by_account = collected.tables, collected.gaps, collected.account_owners
    clock = _lap(timings, "collect", clock)

    # 2. Store the evidence snapshot, written once.
    files: dict[str, str] = {}
    for name in sorted(tables):
        tables[name] = assign_owners(tables[name], owners_by_account, config.owners)
    review_state = None
    if REVIEWS_TABLE in tables or REVOCATIONS_TABLE in tables:  # from sealed decisions and these principals
        review_state = load_review_state(store)
        tables.update(derive_review_tables(tables, review_state, config, started))
        gaps = [*gaps, *derived_gaps(gaps)]
    for name in sorted(tables):
        files[name] = folder.write_table(name, tables[name])
    folder.write_json("evidence/gaps.json", [g.to_dict() for g in gaps])
    # Recurring-evidence documents (minutes, drill reports, exports): sealed with the run, listed in its manifest.
    documents = write_documents(folder, collected.documents)
    if documents:
        logger.info("copied %d recurring-evidence document(s) into the run", len(documents))
    clock = _lap(timings, "store", clock)

    # 3. Validate with Great Expectations, one suite per evidence table.
    findings: list[Finding] = []
    by_table: dict[str, list[Control]] = defaultdict(list)
    for control in controls:
        by_table[control.evidence_table].append(control)
    for table, table_controls in sorted(by_table.items()):
        frame = tables.get(table, pd.DataFrame(columns=list(BASE_COLUMNS)))
        findings += validate_task(
            run_id, table, frame, table_controls, gaps, files.get(table, ""), docs_dir=str(folder.path / DOCS_DIR)
        )
    findings = nearest_reminders(fill_missing_owners(findings, owners_by_account, config), controls)
    outcome = apply_exceptions(findings, config.exceptions, started.date())
    account_owners = {k: v for k, v in owners_by_account.items() if v}  # accounts whose owner is known
    routes = route_findings(
        findings=outcome.findings,
        controls=controls,
        config=config,
        evidence_root=root,
        account_owners_by_id=account_owners,
        store=store,
    )
    findings = [replace(f, notify_route=routes.get(f.key, "")) for f in outcome.findings]
    clock = _lap(timings, "validate", clock)

    # 4. Write findings and seal the run.
    ended = datetime.now(UTC)
    summary = RunSummary(
        run_id=run_id,
        flow=flow_name,
        scope={
            "accounts": sorted(owners_by_account),
            "regions": config.scope.regions,
            "controls": [c.id for c in controls],
            "frameworks": frameworks or [],
            "execution": execution.mode,
            "collected_by": collected.collected_by,
        },
        started_at=started,
        ended_at=ended,
        counts=count_by_status(findings),
        run_dir=str(folder.path),
        flow_run_url=_flow_run_url(),
    )
    with folder.open_text(FINDINGS_JSON) as handle:
        write_findings_json(handle, summary.to_dict(), findings)
    with folder.open_text(FINDINGS_CSV) as handle:
        write_findings_csv(handle, findings)
    if "iam_principals" in tables:
        folder.write_text(ACCESS_REVIEW_CSV, access_review_csv(tables["iam_principals"]))
    folder.write_json("run.json", summary.to_dict())
    folder.write_json(REGISTER_JSON, register.to_dict())
    # The policy matrix: the whole catalog's clause mapping, with this run's counts for the controls it ran.
    this_run = RunStatus.from_findings(run_id, flow_name, started, findings, [c.id for c in controls])
    coverage = coverage_matrix(config.policies, config.controls, this_run)
    reports = write_reports(
        folder, summary, findings, controls, outcome, gaps, config.exceptions, store=store, coverage=coverage
    )
    signer = run_signer(config.directory)
    manifest = seal(
        folder,
        {"flow": flow_name, "config_dir": config.directory, "started_at": started.isoformat()},
        store=store,
        signer=signer,
    )
    # The witness: the head's hash leaves the store (flow log, artifact, Slack), so truncating the chain shows.
    summary = replace(summary, manifest_sha256=manifest_witness(manifest))
    logger.info("sealed run %s: chain head SHA-256 %s, signed by %s", run_id, summary.manifest_sha256, signer.key_id)

    clock = _lap(timings, "report", clock)

    # 5. Notify owners, then publish what a person inspects in the UI.
    notes = notify_run(
        findings=findings,
        controls=controls,
        summary=summary,
        lapsed=outcome.lapsed,
        config=config,
        evidence_root=root,
        account_owners_by_id=account_owners,
        store=store,
    )
    reminders = expiry_notices(register, started.date())
    if review_state is not None:  # pending access reviews: reminded on a cadence, then escalated
        reminders += pending_notices(review_state, config.access_review, config.owners.fallback_owner, started)
    send_notices(reminders, config, root, store)
    clock = _lap(timings, "notify", clock)
    artifacts.publish(summary, findings, controls, coverage)
    publish_report_links(folder.path, reports, run_id)
    _lap(timings, "artifacts", clock)
    logger.info(
        "run %s finished: %s; %d digest(s) via %s, %d message(s) pending",
        run_id,
        json.dumps(summary.counts),
        notes.digests,
        notes.channel,
        notes.pending,
    )
    result = summary.to_dict()
    result["timings"] = timings
    result["reports"] = reports
    result["notifications"] = notes.to_dict()
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
    """The run's page in the Prefect UI, or "" when no UI URL is known (no half-made links in messages)."""
    try:
        url = str(runtime.flow_run.ui_url or "")
    except Exception:  # noqa: BLE001 - outside a flow run there is simply no URL
        return ""
    return url if url.startswith(("http://", "https://")) else ""
