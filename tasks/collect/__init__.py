"""Evidence collectors, one module per AWS service, and the one way to run any of them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from complyflow.core.config import ConfigError
from complyflow.core.model import CollectorResult
from tasks.aws import AWS_ERRORS, AccountSession
from tasks.collect import (
    cloudtrail,
    dynamodb,
    ec2,
    iam,
    kms,
    logs,
    model_drift,
    rds,
    s3,
    sagemaker,
    sagemaker_models,
    vendors,
)
from tasks.collect.base import CollectContext, Collector

COLLECTORS: tuple[Collector, ...] = tuple(
    module.COLLECTOR
    for module in (
        iam,
        s3,
        ec2,
        rds,
        dynamodb,
        sagemaker,
        sagemaker_models,
        kms,
        logs,
        cloudtrail,
        model_drift,
        vendors,
    )
)
TABLE_SOURCES: dict[str, Collector] = {table: c for c in COLLECTORS for table in c.tables}


def collectors_for(tables: set[str]) -> list[Collector]:
    """The collectors needed to fill `tables`, in registry order."""
    unknown = tables - set(TABLE_SOURCES)
    if unknown:
        raise KeyError(f"no collector fills evidence table(s): {', '.join(sorted(unknown))}")
    return [c for c in COLLECTORS if set(c.tables) & tables]


def run_collector(
    collector: Collector,
    account: AccountSession,
    region: str,
    as_of: datetime,
    config_dir: Path | None = None,
    scope_regions: tuple[str, ...] = (),
) -> CollectorResult:
    """Run one collector; a failing call becomes an evidence gap for its whole scope, never an empty PASS.

    Rows gathered before the failure are kept: they are true, and the scope gap says the list is partial.
    Only what the estate or its data can cause is a gap: an AWS error, or a register / inventory that does
    not match its schema (ConfigError). A bug in our code (KeyError, TypeError, a plain ValueError) is
    not evidence of anything: it propagates and fails the run loudly, with its traceback in the log.
    """
    ctx = CollectContext(
        account=account,
        region=region,
        service=collector.service,
        tables=collector.tables,
        as_of=as_of,
        config_dir=config_dir,
        scope_regions=scope_regions,
    )
    try:
        collector.collect(ctx)
    except (*AWS_ERRORS, ConfigError) as exc:
        operation = getattr(exc, "operation_name", None) or type(exc).__name__
        ctx.gap(operation, exc)
    return ctx.result()
