"""`complyflow tables` and `complyflow iam-policy`: the collectors' declarations, for people and for IAM."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from complyflow.cli.common import ConfigOpt, config_dir, console, load_config_or_exit, print_error


def tables(
    config: ConfigOpt = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print docs/evidence-tables.md (the generated reference).")
    ] = False,
) -> None:
    """Every evidence table: its columns, collector, AWS permissions and the controls that read it."""
    from tasks.tables_reference import render_markdown, table_entries

    controls = load_config_or_exit(config_dir(config)).controls
    if markdown:
        print(render_markdown(controls), end="")
        return
    for entry in table_entries(controls):
        grid = Table(
            title=f"{entry.spec.name}  ({entry.collector.name}, {entry.collector.scope})",
            title_justify="left",
            caption="controls: " + (", ".join(entry.controls) or "none yet"),
            caption_justify="left",
        )
        for column in ("column", "type", "meaning"):
            grid.add_column(column, overflow="fold")
        for column in entry.spec.columns:
            grid.add_row(column.name, column.type, column.meaning)
        console.print(grid)
        console.print("permissions: " + ", ".join(entry.actions), markup=False, highlight=False, soft_wrap=True)


def iam_policy(config: ConfigOpt = None) -> None:
    """Print the least-privilege IAM policy for this config, generated from the collectors' declared calls."""
    from complyflow.core.config import ConfigError
    from tasks.iam_policy import generate_policy, render

    try:
        policy = generate_policy(config_dir(config))
    except ConfigError as exc:
        print_error("configuration error", exc)
        raise typer.Exit(2) from exc
    print(render(policy), end="")


def register(app: typer.Typer) -> None:
    app.command("tables")(tables)
    app.command("iam-policy")(iam_policy)
