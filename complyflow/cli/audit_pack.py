"""`complyflow audit-pack --since DATE`: an audit pack from stored runs, without collecting again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from complyflow.cli.common import (
    ConfigOpt,
    EvidenceOpt,
    config_dir,
    console,
    open_configured_store,
    parse_date,
    print_error,
)

if TYPE_CHECKING:
    from complyflow.core.config import Config


def audit_pack(
    since: Annotated[str, typer.Option("--since", help="First day of the period (YYYY-MM-DD, UTC).")],
    until: Annotated[str | None, typer.Option("--until", help="Last day of the period (default: today).")] = None,
    control: Annotated[list[str] | None, typer.Option("--control", help="Only this control (repeatable).")] = None,
    framework: Annotated[
        list[str] | None, typer.Option("--framework", help="Only controls mapped to this framework (repeatable).")
    ] = None,
    account: Annotated[
        list[str] | None,
        typer.Option("--account", help="Only this account id, or a name with an id in scope.yaml (repeatable)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory for the zip (default: the evidence store's audit-packs/).")
    ] = None,
    config: ConfigOpt = None,
    evidence_dir: EvidenceOpt = None,
) -> None:
    """Build an audit pack of the stored runs of a period; exit 1 when their evidence fails verification."""
    from complyflow.core.config import ConfigError, load_config
    from flows.pipeline import select_controls
    from tasks.audit_pack import PackRequest, build_audit_pack, resolve_period
    from tasks.signing import SigningError, run_signer

    first, last = parse_date("--since", since), parse_date("--until", until)
    store, settings = open_configured_store(config, evidence_dir)
    try:
        catalog = load_config(config_dir(config))
        start, end = resolve_period(first, last, settings.audit_pack.default_period_days, datetime.now(UTC).date())
        controls = select_controls(catalog, control, framework) if control or framework else []
        account_ids = _account_ids(catalog, account or [])
        request = PackRequest(
            period_start=start, period_end=end, control_ids=tuple(c.id for c in controls), account_ids=account_ids
        )
        key = run_signer(catalog.directory).public_key_pem()
        pack = build_audit_pack(
            store, catalog, request, out_dir=out, retention_days=settings.retention_days, public_key_pem=key
        )
    except (ConfigError, ValueError, SigningError) as exc:
        print_error("cannot build the audit pack:", exc)
        raise typer.Exit(2) from exc
    console.print(
        f"audit pack: [bold]{pack.path}[/bold]\n  stored at {pack.url}\n  sha256 {pack.sha256}\n"
        f"  {len(pack.runs)} run(s), {pack.files} file(s)"
    )
    if not pack.verification.ok:
        console.print(
            f"[red]evidence verification FAILED[/red] ({len(pack.verification.issues)} issue(s)); "
            "they are listed in the pack's verification.json and by `complyflow verify`"
        )
        raise typer.Exit(1)
    console.print("[green]evidence verified[/green]")


def _account_ids(catalog: Config, accounts: list[str]) -> tuple[str, ...]:
    """Account filters as ids: findings carry ids, and an account without a configured id cannot be matched."""
    ids = []
    for wanted in accounts:
        if wanted.isdigit() and len(wanted) == 12:
            ids.append(wanted)
            continue
        match = next((a for a in catalog.scope.accounts if a.name == wanted), None)
        if match is None:
            raise ValueError(f"account {wanted!r} is neither a 12-digit id nor a name in scope.yaml")
        if match.id is None:
            raise ValueError(f"account {wanted!r} has no id in scope.yaml; pass its 12-digit id instead")
        ids.append(match.id)
    return tuple(ids)


def register(app: typer.Typer) -> None:
    app.command("audit-pack")(audit_pack)
