"""The self-contained HTML report: one file, inline CSS and SVG, no script, readable offline.

Every piece of resource text (names, ARNs, observed values, owners, messages) is untrusted and goes
through `esc`, which first drops bidi and control characters (`complyflow.core.text.clean`: a name
cannot reorder or hide what a reader sees) and then HTML-escapes; a Content-Security-Policy forbids
scripts and remote loads as a second line of defence.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from complyflow.core.config import FRAMEWORKS, Control, ExceptionEntry, ExceptionsRegister
from complyflow.core.coverage import CoverageRow, counts_text, summarize
from complyflow.core.model import EvidenceGap, Finding, RunSummary, Status
from complyflow.core.text import clean
from tasks.exceptions import ExceptionOutcome
from tasks.report.posture import ALL, FRAMEWORK_LABELS, Posture, control_state, score
from tasks.report.trend import RunPoint, Trend

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "informational": 4}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2330;max-width:1400px}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:2px solid #e3e6eb;padding-bottom:.3rem}
h3{margin-top:1.4rem}table{border-collapse:collapse;width:100%;margin:.6rem 0;font-size:.88rem}
th,td{border:1px solid #e3e6eb;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f6f8}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.82rem;word-break:break-all}
.muted{color:#687083}.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #e3e6eb;border-radius:6px;padding:.6rem 1rem;min-width:8rem}
.card b{display:block;font-size:1.5rem}.PASS{color:#1a7f37}.FAIL{color:#cf222e}.ERROR{color:#bc4c00}
.EXCEPTED{color:#6e40c9}.badge{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:.78rem;
font-weight:600;border:1px solid currentColor}.legend span{margin-right:1rem;white-space:nowrap}
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
"""


def esc(value: object) -> str:
    """Anything for text and attribute positions: bidi and control characters dropped, then HTML-escaped."""
    return html.escape(clean(value, keep_newlines=True), quote=True)


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} %"


def badge(status: str) -> str:
    return f'<span class="badge {esc(status)}">{esc(status)}</span>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()) -> str:
    """A table from already-escaped cells; `numeric` column indexes align right."""
    right = set(numeric)
    head = "".join(f"<th{' class=num' if i in right else ''}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{' class=num' if i in right else ''}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )


# --- charts (inline SVG) -------------------------------------------------------------------------


def _segments(points: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Split a line where a run has no score, so a gap is drawn as a gap."""
    out: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if out[-1]:
                out.append([])
        else:
            out[-1].append(point)
    return [s for s in out if s]


def line_chart(
    series: Mapping[str, Sequence[float | None]],
    labels: Sequence[str],
    *,
    title: str,
    width: int = 760,
    height: int = 260,
) -> str:
    """Scores (0–100) per run as lines, one per series; each point has a native tooltip."""
    left, right, top, bottom = 44, 12, 12, 34
    w, h = width - left - right, height - top - bottom
    n = len(labels)

    def x(i: int) -> float:
        return left + (w / 2 if n == 1 else i * w / (n - 1))

    def y(v: float) -> float:
        return top + (100 - v) / 100 * h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}"><title>{esc(title)}</title>'
    ]
    for tick in (0, 25, 50, 75, 100):
        parts.append(
            f'<line x1="{left}" x2="{left + w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e3e6eb"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#687083">{tick}%</text>'
        )
    if n:
        parts.append(
            f'<text x="{x(0):.1f}" y="{height - 10}" font-size="11" fill="#687083" '
            f'text-anchor="{"middle" if n == 1 else "start"}">{esc(labels[0])}</text>'
        )
        if n > 1:
            parts.append(
                f'<text x="{x(n - 1):.1f}" y="{height - 10}" font-size="11" fill="#687083" '
                f'text-anchor="end">{esc(labels[-1])}</text>'
            )
    for index, (name, values) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        points = [None if v is None else (x(i), y(v)) for i, v in enumerate(values)]
        for segment in _segments(points):
            coords = " ".join(f"{px:.1f},{py:.1f}" for px, py in segment)
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{coords}"/>')
        for i, v in enumerate(values):
            if v is not None:
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{color}">'
                    f"<title>{esc(name)} · {esc(labels[i])}: {v:.1f} %</title></circle>"
                )
    parts.append("</svg>")
    legend = "".join(
        f'<span><i class="swatch" style="background:{PALETTE[i % len(PALETTE)]}"></i>{esc(name)}</span>'
        for i, name in enumerate(series)
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def sparkline_svg(values: Sequence[float | None], *, width: int = 120, height: int = 22) -> str:
    """A small line of scores for a table cell; empty when there is nothing to draw."""
    scored = [v for v in values if v is not None]
    if not scored:
        return ""
    n = len(values)

    def x(i: int) -> float:
        return 2 + (width - 4) / 2 if n == 1 else 2 + i * (width - 4) / (n - 1)

    def y(v: float) -> float:
        return 2 + (100 - v) / 100 * (height - 4)

    points = [None if v is None else (x(i), y(v)) for i, v in enumerate(values)]
    lines = "".join(
        '<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="'
        + " ".join(f"{px:.1f},{py:.1f}" for px, py in seg)
        + '"/>'
        for seg in _segments(points)
    )
    last = next((i, v) for i, v in reversed(list(enumerate(values))) if v is not None)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="trend">{lines}<circle cx="{x(last[0]):.1f}" cy="{y(last[1]):.1f}" r="2" '
        f'fill="#1f77b4"/></svg>'
    )


def _run_label(point: RunPoint) -> str:
    return point.started_at.strftime("%Y-%m-%d %H:%M")


def _framework_name(key: str) -> str:
    return "All controls" if key == ALL else FRAMEWORK_LABELS.get(key, key)


# --- sections of the run report ------------------------------------------------------------------


def _header(summary: RunSummary) -> str:
    cards = "".join(
        f'<div class="card"><span class="{esc(s)}">{esc(s)}</span><b>{int(summary.counts.get(s, 0))}</b></div>'
        for s in (str(x) for x in Status)
    )
    scope = summary.scope or {}
    rows = [
        ("Run", f"<code>{esc(summary.run_id)}</code>"),
        ("Flow", esc(summary.flow)),
        ("Started", esc(summary.started_at.isoformat())),
        ("Ended", esc(summary.ended_at.isoformat() if summary.ended_at else "–")),
        ("Accounts", esc(", ".join(scope.get("accounts", [])))),
        ("Regions", esc(", ".join(scope.get("regions", [])))),
        ("Frameworks", esc(", ".join(scope.get("frameworks", [])) or "all")),
    ]
    if summary.flow_run_url:
        rows.append(("Prefect flow run", f'<a href="{esc(summary.flow_run_url)}">{esc(summary.flow_run_url)}</a>'))
    meta = table(("", ""), ((f"<b>{esc(k)}</b>", v) for k, v in rows))
    score_text = pct(score(summary.counts))
    return (
        f"<h1>Compliance report</h1><p class=muted>Score {esc(score_text)} = PASS / (PASS + FAIL + ERROR); "
        f"EXCEPTED (accepted risk) and REMINDER (informational) are shown apart; ERROR (evidence missing) "
        f"counts against.</p>"
        f'<div class="cards">{cards}</div>{meta}'
    )


def _framework_section(current: Posture, controls: Sequence[Control]) -> str:
    rows = []
    for key, counts in current.frameworks.items():
        mapped = [c for c in controls if key == ALL or c.frameworks.get(key)]  # type: ignore[call-overload]
        states = Counter(control_state(current.controls.get(c.id, {})) for c in mapped)
        rows.append(
            (
                esc(_framework_name(key)),
                str(len(mapped)),
                str(states["passing"]),
                str(states["failing"]),
                str(states["error"]),
                *(str(counts.get(str(s), 0)) for s in Status),
                esc(pct(score(counts))),
            )
        )
    headers = ("Framework", "Controls", "Passing", "Failing", "Evidence missing", *(str(s) for s in Status), "Score")
    return "<h2>Posture per framework</h2>" + table(headers, rows, numeric=range(1, len(headers)))


def _trend_section(trend: Trend) -> str:
    if len(trend.points) < 2:
        return (
            "<h2>Trend</h2><p class=muted>The trend appears from the second sealed run; "
            f"{len(trend.points)} run(s) so far.</p>"
        )
    labels = [_run_label(p) for p in trend.points]
    series = {_framework_name(k): v for k, v in trend.series("frameworks").items()}
    first, last = trend.points[0], trend.points[-1]
    caption = (
        f"<p class=muted>{len(trend.points)} runs from {esc(_run_label(first))} to {esc(_run_label(last))}"
        " (UTC). Per-control trends are in the table below.</p>"
    )
    return "<h2>Trend per framework</h2>" + caption + line_chart(series, labels, title="Score per framework")


def _control_section(current: Posture, controls: Sequence[Control], trend: Trend) -> str:
    per_control = trend.series("controls")
    rows = []
    ordered = sorted(controls, key=lambda c: (SEVERITY_ORDER.get(c.severity, 9), c.id))
    for control in ordered:
        counts = current.controls.get(control.id, {})
        refs = "<br>".join(
            f"{esc(FRAMEWORK_LABELS[f].split(' Annex')[0])}: {esc(', '.join(control.frameworks[f]))}"
            for f in FRAMEWORKS
            if control.frameworks.get(f)
        )  # type: ignore[call-overload]
        rows.append(
            (
                f"<code>{esc(control.id)}</code><br>{esc(control.title)}",
                esc(control.severity),
                refs,
                *(str(counts.get(str(s), 0)) for s in Status),
                esc(pct(score(counts))),
                esc(control_state(counts)),
                sparkline_svg(per_control.get(control.id, [])),
            )
        )
    headers = ("Control", "Severity", "Frameworks", *(str(s) for s in Status), "Score", "State", "Trend")
    return "<h2>Posture per control</h2>" + table(headers, rows, numeric=range(3, 4 + len(Status)))


def coverage_section(rows: Sequence[CoverageRow], heading: str = "Policy coverage") -> str:
    """Per policy clause: what evidences it and its state in this run, or why nothing does. One table per document."""
    if not rows:
        return ""
    parts = [
        f"<h2>{esc(heading)}</h2><p class=muted>{esc(summarize(rows).text())}. Status: the clause's controls "
        "and recurring tasks in this run, summed; failing wins over error, error over passing.</p>"
    ]
    documents: dict[str, list[CoverageRow]] = {}
    for row in rows:
        documents.setdefault(row.document_title, []).append(row)
    for title, items in documents.items():
        body = []
        for row in items:
            ids = "<br>".join(
                f"<code>{esc(i)}</code>" + (" <span class=muted>(task)</span>" if i in row.tasks else "")
                for i in row.controls
            )
            if row.counts is not None:
                status = f"<b>{esc(row.status)}</b><br>{esc(counts_text(row.counts))}"
                if row.not_in_run:
                    status += f"<br><span class=muted>not in this run: {esc(', '.join(row.not_in_run))}</span>"
            else:
                reason = f"<br><span class=muted>{esc(row.reason)}</span>" if row.reason else ""
                status = f"<b>{esc(row.status)}</b>{reason}"
            body.append(
                (
                    f"<code>{esc(row.clause)}</code> {esc(row.title)}<br><span class=muted>{esc(row.summary)}</span>",
                    ids or "–",
                    status,
                )
            )
        parts.append(f"<h3>{esc(title)}</h3>" + table(("Clause", "Evidenced by", "Status"), body))
    return "".join(parts)


def _violations_section(findings: Sequence[Finding], lapsed_ids: set[str]) -> str:
    failing = [f for f in findings if f.status == Status.FAIL]
    if not failing:
        return "<h2>Violations per owner</h2><p>No violations.</p>"
    by_owner: dict[str, list[Finding]] = defaultdict(list)
    for finding in failing:
        by_owner[finding.owner or "(no owner)"].append(finding)
    parts = [
        f"<h2>Violations per owner</h2><p class=muted>{len(failing)} violation(s) for {len(by_owner)} "
        "owner(s). Excepted findings are listed under Exceptions.</p>"
    ]
    for owner in sorted(by_owner):
        items = sorted(
            by_owner[owner], key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.control_id, f.resource_name)
        )
        rows = [
            (
                esc(f.severity),
                f"<code>{esc(f.control_id)}</code>",
                esc(f.resource_name),
                f'<span class="mono">{esc(f.resource_arn)}</span>',
                esc(f"{f.account} / {f.region}"),
                esc(f.observed),
                esc(f.expected),
                esc(f"exception {f.exception_id} lapsed") if f.exception_id in lapsed_ids and f.exception_id else "",
            )
            for f in items
        ]
        parts.append(
            f"<h3>{esc(owner)} <span class=muted>({len(items)})</span></h3>"
            + table(
                ("Severity", "Control", "Resource", "ARN", "Account / region", "Observed", "Expected", "Note"), rows
            )
        )
    return "".join(parts)


def _entry_state(entry: ExceptionEntry, today: date) -> str:
    if today < entry.approval_date:
        return "not yet approved"
    return "live" if entry.is_live(today) else "expired"


def _exceptions_section(
    findings: Sequence[Finding], outcome: ExceptionOutcome, register: ExceptionsRegister, today: date
) -> str:
    excepted = Counter(f.exception_id for f in findings if f.status == Status.EXCEPTED)
    expiring = {e.id for e in outcome.expiring}
    unused = {e.id for e in outcome.unused}
    lapsed = {e.id for _, e in outcome.lapsed}
    parts = [
        f"<h2>Exceptions</h2><p class=muted>{len(register.exceptions)} in the register; exceptions expiring "
        f"within {register.review_window_days} days are flagged for review.</p>"
    ]
    if register.exceptions:
        rows = []
        for e in sorted(register.exceptions, key=lambda e: (e.expiry_date, e.id)):
            flags = [
                name
                for name, hit in (
                    ("expiring soon: review", e.id in expiring),
                    ("lapsed", e.id in lapsed),
                    ("unused", e.id in unused),
                )
                if hit
            ]
            days = (e.expiry_date - today).days
            rows.append(
                (
                    f"<code>{esc(e.id)}</code>",
                    esc(e.source),
                    f"<code>{esc(e.control)}</code>",
                    f'<span class="mono">{esc(e.resource)}</span>' + (" (account-wide)" if e.account_wide else ""),
                    esc(e.approver),
                    esc(e.approval_date.isoformat()),
                    esc(e.expiry_date.isoformat()),
                    str(days),
                    esc(_entry_state(e, today)),
                    str(excepted.get(e.id, 0)),
                    esc(", ".join(flags)),
                )
            )
        parts.append(
            table(
                (
                    "Id",
                    "Source",
                    "Control",
                    "Resource",
                    "Approver",
                    "Approved",
                    "Expires",
                    "Days left",
                    "State",
                    "Findings excepted",
                    "Flags",
                ),
                rows,
                numeric=(7, 9),
            )
        )
    if outcome.lapsed:
        rows = [
            (
                f"<code>{esc(e.id)}</code>",
                f"<code>{esc(f.control_id)}</code>",
                esc(f.resource_name),
                esc(f.owner or "(no owner)"),
                esc(e.approver),
                esc(e.expiry_date.isoformat()),
            )
            for f, e in outcome.lapsed
        ]
        parts.append(
            "<h3>Lapsed: violations again</h3>"
            + table(("Exception", "Control", "Resource", "Owner", "Approver", "Expired on"), rows)
        )
    return "".join(parts)


def _gaps_section(gaps: Sequence[EvidenceGap], findings: Sequence[Finding]) -> str:
    errors = [f for f in findings if f.status == Status.ERROR]
    if not gaps and not errors:
        return "<h2>Evidence gaps</h2><p>None: every applicable resource was verified.</p>"
    parts = [
        f"<h2>Evidence gaps</h2><p class=muted>{len(gaps)} collection gap(s); {len(errors)} ERROR finding(s). "
        "A gap is never a PASS.</p>"
    ]
    if gaps:
        rows = [
            (
                esc(g.account),
                esc(g.region),
                esc(g.service),
                esc(g.operation),
                esc(g.error_code),
                esc(g.resource_id or "whole scope"),
                esc(", ".join(g.tables)),
                esc(g.message),
            )
            for g in gaps
        ]
        parts.append(
            table(("Account", "Region", "Service", "Operation", "Error", "Resource", "Tables", "Message"), rows)
        )
    if errors:
        rows = [
            (
                f"<code>{esc(f.control_id)}</code>",
                esc(f.resource_name),
                esc(f"{f.account} / {f.region}"),
                esc(f.owner or "(no owner)"),
                esc(f.message),
            )
            for f in sorted(errors, key=lambda f: (f.control_id, f.resource_id))
        ]
        parts.append(
            "<h3>Findings without evidence (ERROR)</h3>"
            + table(("Control", "Resource", "Account / region", "Owner", "Why"), rows)
        )
    return "".join(parts)


def _links_section(links: Mapping[str, str]) -> str:
    if not links:
        return ""
    items = "".join(
        f'<li><a href="{esc(href)}">{esc(name)}</a> <span class="mono muted">{esc(href)}</span></li>'
        for name, href in links.items()
    )
    return f"<h2>Files of this run</h2><ul>{items}</ul>"


def render_run_report(
    *,
    summary: RunSummary,
    findings: Sequence[Finding],
    controls: Sequence[Control],
    outcome: ExceptionOutcome,
    register: ExceptionsRegister,
    gaps: Sequence[EvidenceGap],
    current: Posture,
    trend: Trend,
    links: Mapping[str, str] | None = None,
    coverage: Sequence[CoverageRow] = (),
) -> str:
    """The report of one run; `trend` already includes this run as its last point; `coverage` its policy matrix."""
    today = summary.started_at.date()
    lapsed_ids = {e.id for _, e in outcome.lapsed}
    body = "".join(
        (
            _header(summary),
            _framework_section(current, controls),
            _trend_section(trend),
            _control_section(current, controls, trend),
            coverage_section(coverage),
            _violations_section(findings, lapsed_ids),
            _exceptions_section(findings, outcome, register, today),
            _gaps_section(gaps, findings),
            _links_section(links or {}),
        )
    )
    return page(f"Compliance report {summary.run_id}", body)


# --- the trend report (complyflow report --html) ---------------------------------------------------


def _change_rows(series: Mapping[str, Sequence[float | None]], names: Mapping[str, str]) -> list[tuple[str, ...]]:
    rows = []
    for key, values in series.items():
        scored = [v for v in values if v is not None]
        first, last = (scored[0], scored[-1]) if scored else (None, None)
        change = "–" if first is None or last is None else f"{last - first:+.1f}"
        rows.append(
            (
                names.get(key, esc(key)),
                str(len(scored)),
                esc(pct(first)),
                esc(pct(last)),
                esc(change),
                esc(pct(min(scored) if scored else None)),
                sparkline_svg(values),
            )
        )
    return rows


def render_trend_report(trend: Trend, controls: Sequence[Control], *, since: date) -> str:
    """Posture per framework and per control over the stored runs since `since`."""
    titles = {c.id: f"<code>{esc(c.id)}</code><br>{esc(c.title)}" for c in controls}
    headers = ("", "Runs", "First", "Latest", "Change", "Lowest", "Trend")
    parts = [f"<h1>Compliance posture since {esc(since.isoformat())}</h1>"]
    if not trend.points:
        parts.append("<p>No sealed runs in this period.</p>")
    else:
        labels = [_run_label(p) for p in trend.points]
        frameworks = trend.series("frameworks")
        parts.append(
            f"<p class=muted>{len(trend.points)} sealed run(s), {esc(labels[0])} to {esc(labels[-1])} "
            "(UTC). Score = PASS / (PASS + FAIL + ERROR).</p>"
        )
        parts.append(
            "<h2>Per framework</h2>"
            + line_chart({_framework_name(k): v for k, v in frameworks.items()}, labels, title="Score per framework")
        )
        parts.append(
            table(
                headers, _change_rows(frameworks, {k: esc(_framework_name(k)) for k in frameworks}), numeric=range(1, 6)
            )
        )
        parts.append(
            "<h2>Per control</h2>" + table(headers, _change_rows(trend.series("controls"), titles), numeric=range(1, 6))
        )
    if trend.skipped:
        rows = [(f"<code>{esc(run_id)}</code>", esc(why)) for run_id, why in trend.skipped]
        parts.append("<h2>Runs not included</h2>" + table(("Run", "Why"), rows))
    return page(f"Compliance posture since {since.isoformat()}", "".join(parts))
