"""One account's evidence collection, as its own deployment run: the unit of fan-out across workers."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from complyflow.core.config import load_config
from flows.collection import collect_in_flow, pack
from flows.selection import select_accounts
from tasks.collect import collectors_for


@flow(
    name="collect-account",
    flow_run_name="collect-{account}-{run_id}",
    log_prints=True,
    task_runner=ThreadPoolTaskRunner(max_workers=8),
    persist_result=True,
    result_serializer="json",
)
def collect_account(
    account: str, run_id: str, as_of: str, tables: list[str], config_dir: str | None = None
) -> dict[str, Any]:
    """Collect every region and service of one account; the evidence is the run's persisted result,
    which the parent run reads back from Prefect's result storage and merges."""
    config = load_config(config_dir)
    (scope,) = select_accounts(config, [account])
    collectors = [c for c in collectors_for(set(tables)) if c.scope != "organization"]
    collected = collect_in_flow(config, [scope], collectors, datetime.fromisoformat(as_of), organization=False)
    worker = os.environ.get("PREFECT__WORKER_NAME", "")  # set by the Prefect worker that started this run
    print(
        f"collected {account}: "
        + ", ".join(f"{k} {len(v)} rows" for k, v in sorted(collected.tables.items()))
        + f"; {len(collected.gaps)} gaps"
    )
    return pack(collected, worker)
