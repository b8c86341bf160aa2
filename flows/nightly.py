"""Nightly compliance run: every enabled control, across every account and region in scope."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from flows.pipeline import run_compliance, run_name


@flow(
    name="nightly-compliance",
    flow_run_name=run_name("nightly"),
    log_prints=True,
    task_runner=ThreadPoolTaskRunner(max_workers=8),
)
def nightly_compliance(config_dir: str | None = None, evidence_dir: str | None = None) -> dict[str, Any]:
    """Collect evidence, store it, validate it with Great Expectations and notify owners."""
    return run_compliance(flow_name="nightly", config_dir=config_dir, evidence_dir=evidence_dir)


if __name__ == "__main__":
    nightly_compliance()
