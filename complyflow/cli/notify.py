"""`complyflow notify [--flush]`: what the outbox still holds for Slack, and sending it.

Without `--flush` it lists pending messages (nothing is sent); with `--flush` it delivers them, oldest
first, each at most once. Exit code 1 when messages are still pending afterwards, so a scheduler notices.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from complyflow.cli.common import (
    config_dir,
    console,
    open_configured_store,
)


def notify(
    flush: Annotated[
        bool,
        typer.Option(
            "--flush",
            help="Send every pending message now (bot token or webhook "
            "from SLACK_BOT_TOKEN / SLACK_WEBHOOK_URL or notify.yaml's Secret blocks).",
        ),
    ] = False,
    evidence_dir: Annotated[
        str | None,
        typer.Option("--evidence-dir", help="Evidence root (default: COMPLYFLOW_EVIDENCE_DIR or ./evidence)."),
    ] = None,
    config: Annotated[
        str | None, typer.Option("--config", help="Config directory (default: ./configs or COMPLYFLOW_CONFIG_DIR).")
    ] = None,
) -> None:
    """Show the Slack messages still pending in the outbox; with --flush, send them."""
    from complyflow.core.config import ConfigError, load_config
    from tasks.evidence import evidence_root
    from tasks.notify.service import NotifyError, pending_messages
    from tasks.notify.service import flush as flush_outbox

    try:
        settings = load_config(config_dir(config))
    except ConfigError as exc:
        console.print(f"[red]configuration error[/red]\n{exc}")
        raise typer.Exit(2) from exc
    root = evidence_root(evidence_dir)
    store, _ = open_configured_store(config, evidence_dir)  # with S3 the outbox and its state live there too
    if flush:
        try:
            result = flush_outbox(settings, root, store)
        except (NotifyError, TimeoutError) as exc:
            console.print(f"[red]cannot flush:[/red] {exc}")
            raise typer.Exit(2) from exc
        console.print(
            f"sent {result.sent} message(s) via {result.channel}"
            + (f", {result.rerouted} to the fallback channel" if result.rerouted else "")
            + f"; {result.pending} still pending"
        )
        for error in result.errors:
            console.print(f"[yellow]{error}[/yellow]", markup=False, highlight=False)
        if result.pending:
            raise typer.Exit(1)
        return
    try:
        pending = pending_messages(settings, root, store)
    except TimeoutError as exc:
        console.print(f"[red]cannot read the outbox:[/red] {exc}")
        raise typer.Exit(2) from exc
    if not pending:
        console.print(f"nothing pending in {root / settings.notify.outbox_file}")
        return
    table = Table(title=f"{len(pending)} message(s) pending in {root / settings.notify.outbox_file}")
    for column in ("id", "to", "purpose", "queued", "attempts", "last error"):
        table.add_column(column)
    for item in pending:
        record = item.record
        table.add_row(
            *(
                Text(str(value))
                for value in (
                    record["id"],
                    record["destination"],
                    record.get("purpose", ""),
                    str(record.get("queued_at", ""))[:19],
                    item.attempts,
                    item.last_error,
                )
            )
        )
    console.print(table)
    console.print("send them with [bold]complyflow notify --flush[/bold]")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("notify")(notify)
