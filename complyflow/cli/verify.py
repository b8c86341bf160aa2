"""`complyflow verify` recomputes evidence hashes and the manifest chain; `complyflow prune` applies retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from complyflow.cli.common import (
    ConfigOpt,
    EvidenceOpt,
    config_dir,
    console,
    open_configured_store,
    parse_date,
    print_error,
)


def verify(
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only runs started on or after this day (YYYY-MM-DD, UTC); default: every run."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            help="PEM public key the manifests must be signed with (from `complyflow signing-key`); no AWS access.",
        ),
    ] = None,
    config: ConfigOpt = None,
    evidence_dir: EvidenceOpt = None,
) -> None:
    """Recompute every evidence hash, signature and the manifest chain; exit 1 naming each problem.

    Interrupted runs (killed before they were sealed) are warnings: they never break the chain.
    """
    from complyflow.core.config import ConfigError
    from tasks.signing import SigningError, expected_public_key
    from tasks.verify import ERROR, verify_store

    first = parse_date("--since", since)
    store, settings = open_configured_store(config, evidence_dir)
    try:
        key = expected_public_key(config_dir(config), public_key)
    except (ConfigError, SigningError) as exc:
        print_error("signing key error", exc)
        raise typer.Exit(2) from exc
    report = verify_store(store, since=first, retention_days=settings.retention_days, public_key_pem=key)
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
            f"{verdict}: {len(report.runs_checked)} run(s), {report.signatures_checked} signature(s), "
            f"{report.files_checked} file(s), {len(report.interrupted)} interrupted run(s) in "
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


def signing_key(
    out: Annotated[str | None, typer.Option("--out", help="Write the PEM here instead of printing it.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Export the public key manifests are signed with, for an auditor's `verify --public-key`."""
    from complyflow.core.config import ConfigError
    from tasks.signing import SigningError, public_key_sha256, run_signer

    try:
        signer = run_signer(config_dir(config))
        pem = signer.public_key_pem()
    except (ConfigError, SigningError) as exc:
        print_error("signing key error", exc)
        raise typer.Exit(2) from exc
    if out:
        Path(out).write_bytes(pem)
        console.print(f"public key of {signer.key_id} ({signer.algorithm}) written to {out}", markup=False)
        console.print(f"SHA-256 of the key: {public_key_sha256(pem)}", markup=False)
    else:
        print(pem.decode("ascii"), end="")


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
    app.command("signing-key")(signing_key)
    app.command("prune")(prune)
