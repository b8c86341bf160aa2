"""`complyflow check` validates every file under the config directory, with no AWS call."""

from __future__ import annotations

import typer

from complyflow.cli.common import ConfigOpt, check_config_or_exit, config_dir, console


def check(config: ConfigOpt = None) -> None:
    """Validate every config file (controls, scope, owners, exceptions, models, vendors, deployments); no AWS."""
    summary = check_config_or_exit(config_dir(config))
    for warning in summary.warnings:
        console.print("[yellow]warning:[/yellow] ", end="")
        console.print(warning, markup=False, highlight=False, soft_wrap=True)
    if summary.warnings:
        console.print(
            f"[yellow]{len(summary.warnings)} register row(s) or source(s) a run would report as ERROR[/yellow]"
        )
    console.print(summary.line(), markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
