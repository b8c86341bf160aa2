"""The `complyflow` command line: demo, run, controls; the other commands register themselves here."""

from __future__ import annotations

import os
from pathlib import Path

# Offline by default: the embedded Prefect server must not phone home (a user can still opt in).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The temporary server Prefect starts for a one-off run needs more than its 20 s default on a busy machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
from typing import Annotated

import typer
from rich.table import Table

from complyflow.cli import audit_pack, check, notify, report, serve, tables, verify
from complyflow.cli.common import (
    ConfigOpt,
    EvidenceOpt,
    check_config_or_exit,
    config_dir,
    console,
    demo_module,
    load_config_or_exit,
)
from complyflow.core.config import FRAMEWORKS
from complyflow.core.process_exit import skip_final_gc_at_exit

skip_final_gc_at_exit()  # registered before Prefect's exit handlers, so it runs after them

app = typer.Typer(
    help="Continuous compliance for AI/ML platforms on AWS, as Prefect workflows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
run_app = typer.Typer(help="Run a compliance flow against the AWS the environment points at.", no_args_is_help=True)
app.add_typer(run_app, name="run")


def _print_result(result: dict) -> None:
    table = Table(title=f"run {result['run_id']}")
    for status in result["counts"]:
        table.add_column(status)
    table.add_row(*(str(v) for v in result["counts"].values()))
    console.print(table)
    console.print(f"evidence and findings: [bold]{result['run_dir']}[/bold]")
    notes = result.get("notifications", {})
    where = f" → {notes['outbox_file']}" if notes.get("channel") == "outbox" else ""
    console.print(
        f"notifications: {notes.get('digests', 0)} digest(s), {notes.get('new', 0)} new item(s) via "
        f"{notes.get('channel')}{where}"
    )
    if notes.get("pending"):
        console.print(f"[yellow]{notes['pending']} message(s) still pending[/yellow]: `complyflow notify --flush`")
    reports = result.get("reports") or {}
    if reports.get("html"):
        console.print(f"report: {Path(result['run_dir']) / reports['html']}")


def _run_flow(flow_name: str, config: str | None, evidence_dir: str | None) -> None:
    """Run one flow once, now. Exit code 0 when the run worked, whatever it found."""
    config = config_dir(config)
    check_config_or_exit(config)  # every config file, before any AWS call (and before importing Prefect)
    from flows.drift import drift_monitoring
    from flows.nightly import nightly_compliance
    from flows.vendors import vendor_reviews

    flows = {"nightly": nightly_compliance, "drift": drift_monitoring, "vendors": vendor_reviews}
    try:
        result = flows[flow_name](config_dir=config, evidence_dir=evidence_dir)
    except Exception as exc:
        console.print(f"[red]run failed:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from exc
    _print_result(result)


@run_app.command("nightly")
def run_nightly(config: ConfigOpt = None, evidence_dir: EvidenceOpt = None) -> None:
    """Every enabled control, across every account and region in scope."""
    _run_flow("nightly", config, evidence_dir)


@run_app.command("drift")
def run_drift(config: ConfigOpt = None, evidence_dir: EvidenceOpt = None) -> None:
    """The model inventory and drift controls only (the daily drift-monitoring flow)."""
    _run_flow("drift", config, evidence_dir)


@run_app.command("vendors")
def run_vendors(config: ConfigOpt = None, evidence_dir: EvidenceOpt = None) -> None:
    """The vendor re-assessment controls only (the weekly vendor-reviews flow)."""
    _run_flow("vendors", config, evidence_dir)


@app.command()
def demo(config: ConfigOpt = None, evidence_dir: EvidenceOpt = None) -> None:
    """Start a demo AWS estate in moto on 127.0.0.1 and run the nightly flow against it."""
    config = config_dir(config)
    check_config_or_exit(config)  # every config file, before any AWS call
    demo_estate = demo_module()
    from flows.nightly import nightly_compliance

    with (
        console.status("starting the demo AWS estate (moto on 127.0.0.1)…") as status,
        demo_estate.moto_server() as endpoint,
    ):
        console.print(f"[green]✓[/green] moto server at {endpoint}")
        status.update("seeding demo resources…")
        demo_estate.seed_demo_estate()
        console.print(
            "[green]✓[/green] demo estate seeded (IAM, S3, EC2, RDS, DynamoDB, SageMaker, KMS, Logs, "
            "CloudTrail in us-east-1 and eu-west-1)"
        )
        status.update("running the nightly flow (Prefect)…")
        try:
            result = nightly_compliance(config_dir=config, evidence_dir=evidence_dir)
        except Exception as exc:
            console.print(f"[red]run failed:[/red] {type(exc).__name__}: {exc}")
            raise typer.Exit(1) from exc
    _print_result(result)


@app.command()
def controls(
    framework: Annotated[
        str | None, typer.Option(help=f"Only controls mapped to one of {', '.join(FRAMEWORKS)}.")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """List the controls catalog with its framework mappings."""
    if framework and framework not in FRAMEWORKS:
        console.print(f"[red]unknown framework {framework!r}[/red]; choose one of {', '.join(FRAMEWORKS)}")
        raise typer.Exit(2)
    catalog = load_config_or_exit(config_dir(config)).controls
    table = Table(title="controls")
    for column in ("id", "severity", "title", "policy clause", *FRAMEWORKS):
        table.add_column(column)
    for c in catalog:
        if framework and not c.frameworks.get(framework):  # type: ignore[call-overload]
            continue
        table.add_row(
            c.id,
            c.severity,
            c.title,
            f"{c.policy_clause.document} {c.policy_clause.section}",
            *(", ".join(c.frameworks.get(f, [])) for f in FRAMEWORKS),
        )  # type: ignore[call-overload]
    console.print(table)


# --- commands contributed by other modules: one register(app) line each ---
for _command in (check, tables, report, notify, serve, verify, audit_pack):
    _command.register(app)


if __name__ == "__main__":
    app()
