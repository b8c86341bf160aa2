"""`complyflow coverage`: per policy clause, the controls and tasks evidencing it and the latest sealed run's status.

Reads the config and the stored findings only (no AWS, no Prefect, no Great Expectations), so it is fast.
Clause titles, reasons and control ids are config text and may hold anything: every cell is printed as
plain text (no rich markup), with bidi and control characters removed.
"""

from __future__ import annotations

import json
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
    print_error,
)
from complyflow.core.coverage import CoverageRow, counts_text, summarize
from complyflow.core.text import clean


def coverage(
    config: ConfigOpt = None,
    evidence_dir: EvidenceOpt = None,
    output: Annotated[
        str, typer.Option("--format", help="table, or json: a list with one object per clause.")
    ] = "table",
    flow: Annotated[
        str | None, typer.Option("--flow", help="The newest sealed run of this flow (e.g. nightly).")
    ] = None,
    run: Annotated[str | None, typer.Option("--run", help="This sealed run instead of the newest.")] = None,
) -> None:
    """Per policy clause: the controls and recurring tasks evidencing it, and their status in the newest sealed run."""
    from tasks.report.coverage import stored_coverage

    if output not in ("table", "json"):
        print_error(f"unknown --format {output!r}", "choose table or json")
        raise typer.Exit(2)
    catalog = load_config_or_exit(config_dir(config))
    if not catalog.policies:
        print_error("no policy documents", f"{catalog.directory}/policies/ holds none: add one YAML file per document")
        raise typer.Exit(2)
    store, _ = open_configured_store(config, evidence_dir)  # no runs yet: evidenced clauses read "no run"
    try:
        result = stored_coverage(catalog, store, flow=flow, run_id=run)
    except ValueError as exc:
        print_error("cannot read the run", exc)
        raise typer.Exit(2) from exc
    if output == "json":
        # ASCII only: a bidi control or escape character in a title reaches the terminal as \uXXXX, never raw.
        print(json.dumps([row.to_dict() for row in result.rows], indent=2, ensure_ascii=True))
        return
    for run_id, why in result.skipped:
        _plain(f"skipped run {run_id}: {why}", style="yellow")
    if result.run is None:
        _plain(f"no sealed run{f' of flow {flow}' if flow else ''} in {store.location}: statuses read 'no run'")
    else:
        point = result.run
        _plain(f"run {point.run_id} ({point.flow}, {point.started_at:%Y-%m-%d %H:%M} UTC) in {store.location}")
    for document in catalog.policies:
        rows = [r for r in result.rows if r.document == document.id]
        if console.width >= WIDE:
            console.print(_table(document.title, rows))
        else:
            _listing(document.title, rows)
    console.print(Text(summarize(result.rows).text()))


WIDE = 120  # below this a three-column table folds titles and reasons mid-word next to the long ids


def _listing(title: str, rows: list[CoverageRow]) -> None:
    """The narrow form: one line per clause (wrapped at spaces), then its evidence ids whole, one per line."""
    console.print(Text(clean(title), style="bold"))
    for row in rows:
        status = [row.status, counts_text(row.counts) if row.counts is not None else row.reason or ""]
        if row.not_in_run and row.counts is not None:
            status.append(f"{len(row.not_in_run)} control(s) not in run")
        head = f"{row.clause} {row.title} — " + "; ".join(clean(part) for part in status if part)
        console.print(Text(clean(head)), soft_wrap=False)
        for i in row.controls:
            console.print(Text(f"    {clean(i)}{' (task)' if i in row.tasks else ''}"), no_wrap=True, overflow="ignore")
    console.print(Text(summarize(rows).text()))


def _plain(text: str, style: str | None = None) -> None:
    console.print(Text(clean(text), style=style or ""), soft_wrap=True)


def _table(title: str, rows: list[CoverageRow]) -> Table:
    """Clause, what evidences it, status: three columns fit 80; ids are never cut (one per line), the rest folds."""
    table = Table(
        title=Text(clean(title)),
        title_justify="left",
        caption=Text(summarize(rows).text()),
        caption_justify="left",
        show_lines=True,
    )
    longest = max((len(i) + 7 * (i in r.tasks) for r in rows for i in r.controls), default=1)
    # The ids column is exactly as wide as the longest id; the other two share the rest, so the table fits.
    table.add_column("clause", overflow="fold", ratio=2)
    table.add_column("evidenced by", no_wrap=True, width=max(longest, len("evidenced by")))
    table.add_column("status", overflow="fold", ratio=3)
    for row in rows:
        # Each part cleaned on its own (a line break in config text becomes a space), then one per line.
        evidence = [f"{i} (task)" if i in row.tasks else i for i in row.controls] or ["–"]
        status = [row.status, counts_text(row.counts) if row.counts is not None else row.reason or ""]
        if row.not_in_run and row.counts is not None:
            status.append(f"{len(row.not_in_run)} control(s) not in run")
        cells = ([f"{row.clause} {row.title}"], evidence, status)
        table.add_row(*(Text("\n".join(clean(part) for part in cell)) for cell in cells))
    return table


def register(app: typer.Typer) -> None:
    app.command("coverage")(coverage)
