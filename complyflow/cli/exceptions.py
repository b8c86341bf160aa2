"""`complyflow exceptions list`: the exceptions register, from exceptions.yaml and sealed request decisions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from complyflow.cli.common import (
    ConfigOpt,
    EvidenceOpt,
    config_dir,
    console,
    load_config_or_exit,
    open_configured_store,
    parse_date,
)
from complyflow.core.text import clean

exceptions_app = typer.Typer(
    help="The exceptions register (exceptions.yaml and approved requests).", no_args_is_help=True
)


@exceptions_app.command("list")
def list_exceptions(
    on: Annotated[
        str | None, typer.Option("--on", help="Status as of this day (YYYY-MM-DD, UTC); default: today.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the register as JSON.")] = False,
    config: ConfigOpt = None,
    evidence_dir: EvidenceOpt = None,
) -> None:
    """Id, source (config or request), control, resource, approver, approval and expiry, status.

    Status: active, expiring (within the review window), lapsed, rejected. Conflicts between the file and
    requests are listed after the table.
    """
    from tasks.exception_register import load_register

    cfg = load_config_or_exit(config_dir(config))
    store, _settings = open_configured_store(config, evidence_dir)
    today = parse_date("--on", on) or datetime.now(UTC).date()
    register = load_register(cfg, store, today)
    if as_json:
        print(json.dumps(register.to_dict(), indent=2))
        return
    table = Table(title=f"exceptions register on {today} ({len(register.rows)} entries)")
    for column in ("id", "source", "control", "resource", "approver", "approved", "expires", "status"):
        table.add_column(column, overflow="fold")
    for row in register.rows:
        table.add_row(  # Text: untrusted values are shown as written, never read as rich markup
            *(
                Text(clean(v))
                for v in (
                    row.id,
                    row.source,
                    row.control,
                    row.resource,
                    row.approver,
                    row.approval_date.isoformat(),
                    row.expiry_date.isoformat() if row.expiry_date else "-",
                    row.status,
                )
            )
        )
    console.print(table)
    for line in register.conflicts:
        console.print(f"conflict: {clean(line)}", markup=False, highlight=False)
    for line in register.problems:
        console.print(f"ignored: {clean(line)}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(exceptions_app, name="exceptions")
