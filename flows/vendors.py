"""Weekly vendor review: only the controls that read the vendor register, with reminders and violations.

The controls are found in the catalog by the evidence tables the vendor collector fills, so a new
vendor control joins this deployment by existing, without a list to keep in sync.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from complyflow.core.config import Config, load_config
from flows.pipeline import run_compliance, run_name
from flows.selection import controls_reading
from tasks.collect.vendors import TABLES


def vendor_control_ids(config: Config) -> list[str]:
    """Enabled catalog controls reading a vendor evidence table; none is a configuration error."""
    return controls_reading(config, TABLES, "vendor")


@flow(
    name="vendor-reviews",
    flow_run_name=run_name("vendors"),
    log_prints=True,
    task_runner=ThreadPoolTaskRunner(max_workers=4),
)
def vendor_reviews(config_dir: str | None = None, evidence_dir: str | None = None) -> dict[str, Any]:
    """Re-assessment due dates, DPAs, certifications and questionnaires of every vendor in the register."""
    control_ids = vendor_control_ids(load_config(config_dir))
    return run_compliance(
        flow_name="vendors", config_dir=config_dir, evidence_dir=evidence_dir, control_ids=control_ids
    )


if __name__ == "__main__":
    vendor_reviews()
