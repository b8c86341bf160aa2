"""Link artifacts to the reports of a run, on the flow-run page of a real (test) Prefect API."""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from prefect.artifacts import Artifact

from tasks.report_artifacts import publish_report_links


def test_link_artifacts_point_at_the_written_reports(prefect_harness: None, tmp_path: Path) -> None:
    written = {"html": "report.html", "gx_docs": "gx-docs/index.html", "ocsf": "findings/findings.ocsf.json"}

    @flow
    def publish() -> dict:
        return publish_report_links(tmp_path, written, "20261129T020000Z-cccccc")

    ids = publish()
    assert set(ids) == {"compliance-report", "gx-data-docs", "ocsf-findings"}
    report = Artifact.get("compliance-report")
    assert report is not None
    assert report.type == "markdown"  # Prefect stores a link artifact as a markdown link
    assert report.data == f"[HTML compliance report]({(tmp_path / 'report.html').as_uri()})"
    assert report.description == "HTML compliance report, run 20261129T020000Z-cccccc"
    docs = Artifact.get("gx-data-docs")
    assert docs is not None and (tmp_path / "gx-docs" / "index.html").as_uri() in str(docs.data)


def test_only_written_reports_are_linked(prefect_harness: None, tmp_path: Path) -> None:
    @flow
    def publish() -> dict:
        return publish_report_links(tmp_path, {"html": "report.html"}, "R")

    assert set(publish()) == {"compliance-report"}
