"""Evidence collectors, one module per AWS service, and the one way to run any of them."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime
from pathlib import Path

from complyflow.core.config import ConfigError
from complyflow.core.model import CollectorResult
from tasks.aws import AWS_ERRORS, AccountSession
from tasks.collect.base import CollectContext, Collector

#: Modules of this package that are not collectors.
#: Account-wide collectors (IAM, S3: the longest) start first; organisation-wide ones (registers) last.
_SCOPE_ORDER = {"global": 0, "regional": 1, "organization": 2}
_HELPERS = frozenset({"availability", "base", "instance_storage", "parallel", "policy_documents", "tags"})


def _discover() -> tuple[Collector, ...]:
    """Every `COLLECTOR` declared by a module of this package: a new kind of evidence is one new module.

    Ordered by scope, then name, so tasks, logs and the generated reference keep one order.
    """
    found = []
    for module in pkgutil.iter_modules(__path__):
        if module.name in _HELPERS:
            continue
        collector = getattr(importlib.import_module(f"{__name__}.{module.name}"), "COLLECTOR", None)
        if not isinstance(collector, Collector):
            raise TypeError(f"{__name__}.{module.name} declares no COLLECTOR; add it to _HELPERS if it is a helper")
        found.append(collector)
    return tuple(sorted(found, key=lambda c: (_SCOPE_ORDER[c.scope], c.name)))


COLLECTORS: tuple[Collector, ...] = _discover()
TABLE_SOURCES: dict[str, Collector] = {table: c for c in COLLECTORS for table in c.tables}


def collectors_for(tables: set[str]) -> list[Collector]:
    """The collectors needed to fill `tables`, in registry order."""
    unknown = tables - set(TABLE_SOURCES)
    if unknown:
        raise ConfigError(f"no collector fills evidence table(s): {', '.join(sorted(unknown))} (complyflow tables)")
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
        calls=collector.calls,
        specs=collector.declares,
    )
    try:
        collector.collect(ctx)
    except (*AWS_ERRORS, ConfigError) as exc:
        operation = getattr(exc, "operation_name", None) or type(exc).__name__
        ctx.gap(operation, exc)
    return ctx.result()
