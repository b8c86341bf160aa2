"""Prefect link artifacts to a run's HTML report, GX Data Docs and OCSF findings (file:// for a local store).

Stable keys keep one history per link across runs in the Prefect UI. Published after the run is sealed.
Prefect renders a link artifact and its description as markdown: the link is a percent-encoded file://
URI (no `)`, `|` or newline survives `as_uri`), and the run id is escaped as markdown text.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from uuid import UUID

from prefect.artifacts import create_link_artifact

from complyflow.core.text import md_text

#: (key in `write_reports`' result, artifact key, link text)
LINKS = (
    ("html", "compliance-report", "HTML compliance report"),
    ("gx_docs", "gx-data-docs", "Great Expectations Data Docs"),
    ("ocsf", "ocsf-findings", "OCSF findings (JSON)"),
)


def publish_report_links(run_dir: Path, written: Mapping[str, str], run_id: str) -> dict[str, UUID]:
    """One link artifact per report that was written; returns artifact ids by artifact key."""
    ids = {}
    for name, key, text in LINKS:
        if name not in written:
            continue
        target = (Path(run_dir) / written[name]).resolve()
        ids[key] = create_link_artifact(
            link=target.as_uri(), link_text=text, key=key, description=f"{text}, run {md_text(run_id)}"
        )
    return ids
