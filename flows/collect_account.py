"""One account's evidence collection, as its own deployment run: the unit of fan-out across workers."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from complyflow.config import load_config
from flows.collection import collect_in_flow, stage, staging_dir
from flows.selection import select_accounts
from tasks.collect import collectors_for
from tasks.evidence import evidence_root


@flow(name="collect-account", flow_run_name="collect-{account}-{run_id}", log_prints=True,
      task_runner=ThreadPoolTaskRunner(max_workers=8))
def collect_account(account: str, run_id: str, as_of: str, tables: list[str], config_dir: str | None = None,
                    evidence_dir: str | None = None) -> dict[str, Any]:
    """Collect every region and service of one account and stage the tables for the parent run to merge."""
    config = load_config(config_dir)
    (scope,) = select_accounts(config, [account])
    collectors = [c for c in collectors_for(set(tables)) if c.scope != "organization"]
    collected = collect_in_flow(config, [scope], collectors, datetime.fromisoformat(as_of), organization=False)
    target = staging_dir(evidence_root(evidence_dir), run_id, scope.name)
    worker = os.environ.get("PREFECT__WORKER_NAME", "")  # set by the Prefect worker that started this run
    stage(collected, target, worker)
    return {"account": account, "staged": str(target), "worker": worker,
            "rows": {k: len(v) for k, v in collected.tables.items()}, "gaps": len(collected.gaps)}
