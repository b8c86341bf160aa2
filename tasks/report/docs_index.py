"""The index page of a run's GX Data Docs: one row per evidence table, linking GX's own pages.

GX's index builder only knows the results of its own context and deletes pages it does not know; each
table is validated in its own context, so the run's index is written here once, from the pages on disk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from complyflow.core.model import Finding, Status
from tasks.report.html import esc, page, table


def render_docs_index(site_dir: Path, run_id: str, findings: Iterable[Finding]) -> str | None:
    """The index of the Data Docs under `site_dir` for `run_id`; None when no table was rendered."""
    pages = sorted((site_dir / "validations").glob(f"*/{run_id}/*/*.html"))
    if not pages:
        return None
    counts: dict[str, Counter[str]] = {}
    for finding in findings:
        table_name = Path(finding.evidence_file).stem
        counts.setdefault(table_name, Counter())[str(finding.status)] += 1
    rows = []
    for validation in pages:
        name = validation.relative_to(site_dir / "validations").parts[0]
        suite = site_dir / "expectations" / f"{name}.html"
        seen = counts.get(name, Counter())
        rows.append(
            (
                f"<code>{esc(name)}</code>",
                f'<a href="{esc(validation.relative_to(site_dir).as_posix())}">validation result</a>',
                (
                    f'<a href="{esc(suite.relative_to(site_dir).as_posix())}">expectation suite</a>'
                    if suite.is_file()
                    else "–"
                ),
                *(str(seen.get(str(s), 0)) for s in Status),
            )
        )
    body = (
        f"<h1>Great Expectations Data Docs</h1><p class=muted>Run <code>{esc(run_id)}</code>: one validation "
        "per evidence table. The counts are the run's findings read from that table (after exceptions).</p>"
        + table(
            ("Evidence table", "Validation", "Suite", *(str(s) for s in Status)),
            rows,
            numeric=range(3, 3 + len(Status)),
        )
        + '<p><a href="../report.html">Compliance report of this run</a></p>'
    )
    return page(f"GX Data Docs {run_id}", body)
