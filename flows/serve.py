"""Serve every flow with its schedule from one process: the single-process alternative to a work pool.

Schedules, tags and parameters come from `configs/deployments.yaml`, the same source `prefect.yaml` is
rendered from, so `complyflow serve` and `prefect deploy --all` schedule the same runs. Flows are served
by module path, so the command works from any directory once complyflow is installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from prefect import Flow, serve
from prefect.deployments.runner import EntrypointType
from prefect.schedules import Cron

from complyflow.core.deploy_config import ENTRYPOINTS, DeploymentsConfig, load_deployments_config

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment


def load_flow(deployment: str) -> Flow:
    """The flow behind a deployment name, imported by module; a missing module is named, with its file."""
    path, _, attribute = ENTRYPOINTS[deployment].partition(":")
    module_name = path.removesuffix(".py").replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise RuntimeError(
            f"deployment {deployment!r} needs {path} ({attribute}), which is not in this "
            f"checkout; remove it from configs/deployments.yaml or use --only"
        ) from exc
    candidate = getattr(module, attribute, None)
    if not isinstance(candidate, Flow):
        raise RuntimeError(f"deployment {deployment!r}: {ENTRYPOINTS[deployment]} is not a Prefect flow")
    return candidate


def build_deployments(config: DeploymentsConfig, only: list[str] | None = None) -> list[RunnerDeployment]:
    """One runner deployment per configured deployment (or the ones named in `only`)."""
    unknown = set(only or []) - set(config.deployments)
    if unknown:
        raise ValueError(
            f"unknown deployment(s) {', '.join(sorted(unknown))}; configured: {', '.join(config.deployments)}"
        )
    deployments = []
    for name, spec in config.deployments.items():
        if only and name not in only:
            continue
        schedules = (
            [Cron(spec.schedule.cron, timezone=spec.schedule.timezone, active=spec.schedule.active)]
            if spec.schedule
            else []
        )
        deployments.append(
            load_flow(name).to_deployment(
                name=name,
                schedules=schedules,
                tags=list(spec.tags),
                parameters=dict(spec.parameters),
                description=spec.description,
                concurrency_limit=spec.concurrency_limit,
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    return deployments


def serve_all(config_dir: str | None = None, only: list[str] | None = None, limit: int | None = None) -> None:
    """Register the deployments with the Prefect API and run their scheduled and triggered runs until stopped."""
    serve(*build_deployments(load_deployments_config(config_dir), only), limit=limit)


if __name__ == "__main__":
    serve_all()
