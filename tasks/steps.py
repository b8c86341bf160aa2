"""The Prefect tasks of a compliance run; each wraps one plain step with its retries.

Task-run names carry account, region and service so the Prefect UI reads like the estate. Nothing is
cached (`NO_CACHE`): compliance evidence must be gathered fresh on every run. No task timeouts: these
tasks run in the thread pool, where Prefect cannot interrupt them (it only warns, first thing in every
run's logs); the work is bounded where it blocks instead — botocore's connect/read timeouts and retry
budget on every AWS call, a 60 s cap on the IAM credential report, and the collect deployment's own
timeout when accounts fan out to workers.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from complyflow.core.config import AccountScope, Control
from complyflow.core.model import CollectorResult, EvidenceGap, Finding
from tasks.aws import AccountSession, open_account
from tasks.collect import run_collector
from tasks.collect.base import Collector
from tasks.validate import build_data_docs, findings_for_table, new_context


@task(
    name="open-account",
    task_run_name="open-account-{account.name}",
    retries=2,
    retry_delay_seconds=5,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def open_account_task(account: AccountScope, home_region: str) -> AccountSession:
    return open_account(account, home_region)


@task(
    name="collect",
    task_run_name="collect-{collector.name}-{account.account_id}-{region}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def collect_task(
    collector: Collector,
    account: AccountSession,
    region: str,
    as_of: datetime,
    config_dir: str | None = None,
    scope_regions: tuple[str, ...] = (),
) -> CollectorResult:
    """Collect one (account, region, service); AWS throttling is retried inside botocore (adaptive)."""
    result = run_collector(collector, account, region, as_of, Path(config_dir) if config_dir else None, scope_regions)
    rows = sum(len(frame) for frame in result.tables.values())
    logger = get_run_logger()
    logger.info(
        "collected %s in %s/%s: %d rows, %d gaps", collector.name, account.account_id, region, rows, len(result.gaps)
    )
    for gap in result.gaps:
        logger.warning(
            "evidence gap: %s %s in %s/%s: %s", gap.service, gap.operation, gap.account, gap.region, gap.error_code
        )
    return result


@task(name="validate", task_run_name="validate-{table}", cache_policy=NO_CACHE, persist_result=False)
def validate_task(
    run_id: str,
    table: str,
    frame: pd.DataFrame,
    controls: list[Control],
    gaps: list[EvidenceGap],
    evidence_file: str,
    gx_dir: str | None = None,
    docs_dir: str | None = None,
) -> list[Finding]:
    context = new_context(Path(gx_dir) if gx_dir else None)
    findings = findings_for_table(
        context=context,
        run_id=run_id,
        table=table,
        frame=frame,
        controls=controls,
        gaps=gaps,
        evidence_file=evidence_file,
    )
    logger = get_run_logger()
    logger.info("validated %s with Great Expectations: %d rows, %d findings", table, len(frame), len(findings))
    if docs_dir:
        try:
            build_data_docs(context, table=table, run_id=run_id, site_dir=Path(docs_dir))
        except Exception as exc:  # noqa: BLE001 - Data Docs are a view of the verdicts; the verdicts stand
            logger.warning("GX Data Docs for %s not built: %s: %s", table, type(exc).__name__, exc)
    return findings
