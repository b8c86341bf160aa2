"""Daily drift monitoring: the model inventory and every model's drift evidence, with findings to model owners.

The controls are found in the catalog by the evidence tables the model collectors fill (SageMaker
discovery and the inventory / drift reports), so a new model control joins this deployment by existing.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from complyflow.core.config import Config, load_config
from flows.pipeline import run_compliance, run_name
from flows.selection import controls_reading
from tasks.collect import model_drift, sagemaker_models

TABLES: tuple[str, ...] = (*sagemaker_models.COLLECTOR.tables, *model_drift.COLLECTOR.tables)


def drift_control_ids(config: Config) -> list[str]:
    """Enabled catalog controls reading a model evidence table; none is a configuration error."""
    return controls_reading(config, TABLES, "model")


@flow(
    name="drift-monitoring",
    flow_run_name=run_name("drift"),
    log_prints=True,
    task_runner=ThreadPoolTaskRunner(max_workers=8),
)
def drift_monitoring(config_dir: str | None = None, evidence_dir: str | None = None) -> dict[str, Any]:
    """Inventory completeness, unlisted endpoints, drift report freshness, feature drift and quality floors."""
    ids = drift_control_ids(load_config(config_dir))
    return run_compliance(flow_name="drift", config_dir=config_dir, evidence_dir=evidence_dir, control_ids=ids)


if __name__ == "__main__":
    drift_monitoring()
