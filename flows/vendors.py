"""Weekly vendor review: only the controls that read the vendor register, with reminders and violations.

The controls are found in the catalog by the evidence tables the vendor collector fills, so a new
vendor control joins this deployment by existing, without a list to keep in sync.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from complyflow.config import Config, load_config
from flows.pipeline import run_compliance
from tasks.collect.vendors import TABLES


def vendor_control_ids(config: Config) -> list[str]:
    """Enabled catalog controls reading a vendor evidence table; none is a configuration error."""
    ids = [c.id for c in config.enabled_controls if c.evidence_table in TABLES]
    if not ids:
        raise ValueError(f"{config.directory}: no enabled control reads the vendor tables ({', '.join(TABLES)}); "
                         "add configs/controls/vendor-*.yaml or enable them")
    return ids


def _run_name() -> str:
    return f"vendors-{datetime.now(UTC):%Y-%m-%d}"


@flow(
    name="vendor-reviews",
    flow_run_name=_run_name,
    log_prints=True,
    task_runner=ThreadPoolTaskRunner(max_workers=4),
)
def vendor_reviews(config_dir: str | None = None, evidence_dir: str | None = None) -> dict[str, Any]:
    """Re-assessment due dates, DPAs, certifications and questionnaires of every vendor in the register."""
    control_ids = vendor_control_ids(load_config(config_dir))
    return run_compliance(flow_name="vendors", config_dir=config_dir, evidence_dir=evidence_dir,
                          control_ids=control_ids)


if __name__ == "__main__":
    vendor_reviews()
