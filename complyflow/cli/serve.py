"""`complyflow serve`: every flow with its schedule in one process; `complyflow demo-estate` for trying it out."""

from __future__ import annotations

import logging
import signal
import time
from typing import Annotated

import typer

from complyflow.cli.common import (
    config_dir,
    console,
    demo_module,
)


def serve(
    config: Annotated[
        str | None, typer.Option("--config", help="Config directory (default: ./configs or COMPLYFLOW_CONFIG_DIR).")
    ] = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Serve only this deployment (repeatable).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many runs at once.")] = None,
    demo_estate: Annotated[
        bool,
        typer.Option(
            "--demo-estate", help="Point the flows at a demo AWS estate (moto on 127.0.0.1) started in this process."
        ),
    ] = False,
) -> None:
    """Serve all flows with their schedules (configs/deployments.yaml) until Ctrl-C; no work pool needed."""
    from complyflow.core.config import ConfigError
    from complyflow.core.deploy_config import load_deployments_config
    from flows.serve import build_deployments

    config = config_dir(config)
    try:
        deployments = build_deployments(load_deployments_config(config), only)
    except (ConfigError, ValueError, RuntimeError) as exc:
        console.print(f"[red]cannot serve:[/red] {exc}")
        raise typer.Exit(2) from exc
    from prefect import serve as prefect_serve

    if not demo_estate:
        prefect_serve(*deployments, limit=limit)
        return
    demo = demo_module()
    _quiet_moto()
    with demo.moto_server() as endpoint:
        demo.seed_demo_estate()
        console.print(f"[green]✓[/green] demo AWS estate at {endpoint}; flow runs of this process use it")
        prefect_serve(*deployments, limit=limit)


def _quiet_moto() -> None:
    """moto's request log would bury the lines a person needs (the endpoint, the exports)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _stop_on_sigterm() -> None:
    """`kill` (SIGTERM) stops the demo estate as cleanly as Ctrl-C: the moto server is shut down."""

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def demo_estate() -> None:
    """Run the demo AWS estate (moto on 127.0.0.1, seeded) until Ctrl-C, for a worker to collect from."""
    demo = demo_module()
    _quiet_moto()
    _stop_on_sigterm()
    with demo.moto_server() as endpoint:
        demo.seed_demo_estate()
        console.print(f"[green]✓[/green] demo AWS estate at {endpoint}. Start the worker with this environment:")
        exports = {**demo.FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}
        console.print("\n".join(f"export {k}={v}" for k, v in exports.items()), highlight=False, soft_wrap=True)
        console.print("Ctrl-C stops it.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("demo estate stopped")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("demo-estate")(demo_estate)
