"""`complyflow report --since DATE`: posture trend per framework and per control over stored runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from complyflow.cli.common import (
    config_dir,
    console,
    load_config_or_exit,
    open_configured_store,
)
from complyflow.core.text import clean


def _since(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        console.print(f"[red]--since {value!r} is not a date[/red]; write it as YYYY-MM-DD, e.g. 2026-11-01")
        raise typer.Exit(2) from None


def _trend_table(title: str, series: dict[str, list[float | None]], names: dict[str, str]) -> Table:
    from tasks.report.trend import sparkline  # imported late: keeps `complyflow --help` fast

    table = Table(title=title)
    narrow = console.width < 100  # at 80 columns "lowest" goes, so the ids and numbers stay whole
    for column, justify in (
        ("", "left"),
        ("runs", "right"),
        ("first", "right"),
        ("latest", "right"),
        ("change", "right"),
        *([] if narrow else [("lowest", "right")]),
        ("trend", "left"),
    ):
        if not column:  # the control id (or framework): never cut, people copy it
            longest = max((len(names.get(k, k)) for k in series), default=1)
            table.add_column(column, no_wrap=True, min_width=longest)
            continue
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for key, values in series.items():
        scored = [v for v in values if v is not None]
        first, last = (scored[0], scored[-1]) if scored else (None, None)
        table.add_row(
            names.get(key, key),
            str(len(scored)),
            _pct(first),
            _pct(last),
            "–" if first is None or last is None else f"{last - first:+.1f}",
            *([] if narrow else [_pct(min(scored) if scored else None)]),
            sparkline(values),
        )
    return table


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} %"


DEFAULT_DAYS = 30  # `complyflow report` alone: the last month


def report(
    since: Annotated[
        str | None, typer.Option("--since", help="First day of the period (YYYY-MM-DD), UTC; default: 30 days ago.")
    ] = None,
    evidence_dir: Annotated[
        str | None,
        typer.Option("--evidence-dir", help="Evidence root (default: COMPLYFLOW_EVIDENCE_DIR or ./evidence)."),
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML report with charts to this file.")
    ] = None,
    flow: Annotated[str | None, typer.Option("--flow", help="Only runs of this flow (e.g. nightly).")] = None,
    config: Annotated[
        str | None, typer.Option("--config", help="Config directory, for control titles and framework mappings.")
    ] = None,
) -> None:
    """Posture trend per framework and per control over the sealed runs since DATE, read from stored findings."""
    from tasks.evidence import LocalStore
    from tasks.report.html import render_trend_report
    from tasks.report.posture import ALL, FRAMEWORK_LABELS, framework_mapping
    from tasks.report.trend import load_trend

    start = _since(since) if since else datetime.now(UTC).date() - timedelta(days=DEFAULT_DAYS)
    if start > datetime.now(UTC).date():
        console.print(f"[red]--since {start} is in the future[/red]")
        raise typer.Exit(2)
    controls = load_config_or_exit(config_dir(config)).controls
    store, _ = open_configured_store(config, evidence_dir)  # sealed runs are read where they are kept
    root = store.location
    if isinstance(store, LocalStore) and not store.root.is_dir():
        console.print(f"[red]evidence root {root} not found[/red]; pass --evidence-dir or set COMPLYFLOW_EVIDENCE_DIR")
        raise typer.Exit(2)
    trend = load_trend(store, framework_mapping(controls), since=start, flow=flow)
    for run_id, why in trend.skipped:
        console.print(f"skipped run {run_id}: {clean(why)}", style="yellow", markup=False, highlight=False)
    if not trend.points:
        console.print(f"no sealed runs since {start} in {root}" + (f" for flow {flow!r}" if flow else ""))
    else:
        flows = sorted({p.flow for p in trend.points})
        console.print(
            f"{len(trend.points)} sealed run(s) since {start} in {root}: "
            f"{trend.points[0].started_at:%Y-%m-%d %H:%M} to {trend.points[-1].started_at:%Y-%m-%d %H:%M} "
            f"UTC; score = PASS / (PASS + FAIL + ERROR)"
        )
        if len(flows) > 1:
            console.print(
                f"[yellow]runs of several flows ({', '.join(flows)}): framework scores compare runs of "
                f"different scope; use --flow to compare like with like[/yellow]"
            )
        labels = {ALL: "All controls", **FRAMEWORK_LABELS}
        console.print(_trend_table("posture per framework", trend.series("frameworks"), labels))
        console.print(_trend_table("posture per control", trend.series("controls"), {}))
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_trend_report(trend, controls, since=start), encoding="utf-8")
        console.print(f"HTML report: [bold]{html.resolve()}[/bold]")


def register(app: typer.Typer) -> None:
    """Add `complyflow report` to the CLI."""
    app.command("report")(report)
