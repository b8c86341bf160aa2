"""`complyflow verify` recomputes evidence hashes and the manifest chain; `complyflow prune` applies retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from complyflow.cli.common import ConfigOpt, EvidenceOpt, console, open_configured_store, parse_date


def verify(
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only runs started on or after this day (YYYY-MM-DD, UTC); default: every run."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    config: ConfigOpt = None,
    evidence_dir: EvidenceOpt = None,
) -> None:
    """Recompute every evidence hash and the manifest chain; exit 1 naming each altered, missing or extra file."""
    from tasks.verify import ERROR, verify_store

    first = parse_date("--since", since)
    store, settings = open_configured_store(config, evidence_dir)
    report = verify_store(store, since=first, retention_days=settings.retention_days)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        if report.issues:
            table = Table(title=f"evidence issues in {store.location}")
            for column in ("severity", "kind", "path", "detail"):
                table.add_column(column, overflow="fold")
            for issue in report.issues:
                style = "red" if issue.severity == ERROR else "yellow"
                table.add_row(f"[{style}]{issue.severity}[/{style}]", issue.kind, issue.path, issue.detail)
            console.print(table)
        verdict = "[green]verified[/green]" if report.ok else "[red]FAILED[/red]"
        console.print(
            f"{verdict}: {len(report.runs_checked)} run(s), {report.files_checked} file(s) in "
            f"{store.location}" + (f" since {first}" if first else "")
        )
    if not report.ok:
        raise typer.Exit(1)


def prune(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be pruned; change nothing.")] = False,
    config: ConfigOpt = None,
    evidence_dir: EvidenceOpt = None,
) -> None:
    """Remove evidence files older than retention_days (configs/evidence-store.yaml); manifests and chain stay."""
    from tasks.evidence import prune as prune_store

    store, settings = open_configured_store(config, evidence_dir)
    result = prune_store(store, settings.retention_days, datetime.now(UTC), dry_run=dry_run)
    verb = "would prune" if dry_run else "pruned"
    console.print(f"{verb} {len(result.pruned)} run(s) older than {settings.retention_days} days in {store.location}")
    for run_id in result.pruned:
        console.print(f"  {run_id}")
    for run_id in result.skipped_unsealed:
        console.print(
            f"[yellow]skipped unsealed run {run_id}[/yellow]: no manifest, so nothing proves what it held; "
            "inspect and delete it by hand"
        )


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
    app.command("prune")(prune)
