"""The `complyflow` command line: demo, run, controls; the other commands register themselves here."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

# Offline by default: the embedded Prefect server must not phone home (a user can still opt in).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The temporary server Prefect starts for a one-off run needs more than its 20 s default on a busy machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
from typing import Annotated

import typer
from rich.table import Table

from complyflow.cli import audit_pack, check, coverage, exceptions, notify, report, serve, tables, verify
from complyflow.cli.common import (
    ConfigOpt,
    EvidenceOpt,
    check_config_or_exit,
    config_dir,
    console,
    demo_module,
    load_config_or_exit,
    open_configured_store,
)
from complyflow.cli.prefect_api import TemporaryServerWarmup
from complyflow.core.config import FRAMEWORKS
from complyflow.core.model import posture_of
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
    say = partial(console.print, markup=False, highlight=False, soft_wrap=True)  # paths: never wrapped mid-token
    say(f"posture: {posture_of(result['counts']).text()}")
    say(f"evidence and findings: {result['run_dir']}")
    if result.get("manifest_sha256"):
        say(f"sealed: chain head SHA-256 {result['manifest_sha256']}")
    notes = result.get("notifications", {})
    where = f" → {notes['outbox_file']}" if notes.get("channel") == "outbox" else ""
    say(
        f"notifications: {notes.get('digests', 0)} digest(s), {notes.get('new', 0)} new item(s) via "
        f"{notes.get('channel')}{where}"
    )
    if notes.get("pending"):
        say(f"{notes['pending']} message(s) still pending: complyflow notify --flush", style="yellow")
    reports = result.get("reports") or {}
    if reports.get("html"):
        say(f"report: {Path(result['run_dir']) / reports['html']}")


def _run_flow(flow_name: str, config: str | None, evidence_dir: str | None) -> None:
    """Run one flow once, now. Exit code 0 when the run worked, whatever it found."""
    config = config_dir(config)
    checked = check_config_or_exit(config)  # every config file, before any AWS call (and before importing Prefect)
    warmup = TemporaryServerWarmup().start()  # Prefect's temporary server starts while the flows import
    from complyflow.cli.progress import run_progress
    from flows.drift import drift_monitoring
    from flows.nightly import nightly_compliance
    from flows.vendors import vendor_reviews

    flows = {"nightly": nightly_compliance, "drift": drift_monitoring, "vendors": vendor_reviews}
    warmup.wait()
    try:
        with run_progress(console, checked.config):
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
    checked = check_config_or_exit(config)  # every config file, before any AWS call
    warmup = TemporaryServerWarmup().start()  # Prefect's temporary server starts while the estate is seeded
    demo_estate = demo_module()
    from complyflow.cli.progress import run_progress
    from flows.nightly import nightly_compliance

    with demo_estate.moto_server() as endpoint:
        console.print(f"[green]✓[/green] moto server at {endpoint}")
        demo_estate.seed_demo_estate()
        _seed_review_history(config, evidence_dir)
        console.print(
            "[green]✓[/green] demo estate seeded (IAM, S3, EC2, ECR, RDS, DynamoDB, SageMaker, KMS, Logs, "
            "CloudTrail in us-east-1 and eu-west-1)"
        )
        warmup.wait()
        try:
            with run_progress(console, checked.config):
                result = nightly_compliance(config_dir=config, evidence_dir=evidence_dir)
        except Exception as exc:
            console.print(f"[red]run failed:[/red] {type(exc).__name__}: {exc}")
            raise typer.Exit(1) from exc
    _print_result(result)


def _seed_review_history(config: str | None, evidence_dir: str | None) -> None:
    """The demo's past access review (complyflow/demo/access_history.py), once per evidence store."""
    from complyflow.demo.access_history import seed_request_history, seed_review_history

    store, _settings = open_configured_store(config, evidence_dir)
    directory = str(load_config_or_exit(config).directory)
    if seed_review_history(store, directory, evidence_dir):
        console.print("[green]✓[/green] a past access review sealed in the evidence store (platform-team)")
    if seed_request_history(store, directory, evidence_dir):
        console.print("[green]✓[/green] a past approved exception request sealed in the evidence store (ml-research)")


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
    wide = console.width >= 140  # the title and one column per framework need room; below that, a compact form
    table = Table(title="controls", title_justify="left")
    # The id is what people copy: never cut or folded; the other columns fold to fit (80 columns included).
    table.add_column("id", no_wrap=True, min_width=max((len(c.id) for c in catalog), default=2))
    columns = ("severity", "title", "policy clause", *FRAMEWORKS) if wide else ("severity", "clause", "frameworks")
    for column in columns:
        table.add_column(column, overflow="fold")
    for c in catalog:
        if framework and not c.frameworks.get(framework):  # type: ignore[call-overload]
            continue
        if wide:
            mapped = [", ".join(c.frameworks.get(f, [])) for f in FRAMEWORKS]  # type: ignore[call-overload]
            table.add_row(c.id, c.severity, c.title, f"{c.policy_clause.document} {c.policy_clause.section}", *mapped)
        else:
            refs = "; ".join(f"{f}: {', '.join(r)}" for f, r in c.frameworks.items() if r)
            table.add_row(c.id, c.severity, c.policy_clause.section.split(" ")[0], refs)
    console.print(table)


# --- commands contributed by other modules: one register(app) line each ---
for _command in (check, tables, report, notify, serve, verify, audit_pack, coverage, exceptions):
    _command.register(app)


if __name__ == "__main__":
    app()
