"""Findings files are streamed: valid JSON for any count, whole or absent on failure, and loadable again."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from complyflow.core.model import Status
from tasks.evidence import RunFolder, atomic_open
from tasks.findings import FINDINGS_JSON, load_findings, write_findings_json
from tasks.jsonstream import write_array
from tasks.report.ocsf import write_ocsf_json
from tests.report.factory import STARTED, control, finding


@pytest.mark.parametrize("items", [[], [{"a": 1}], [{"a": i, "name": "é<'\"\n"} for i in range(5)]])
def test_a_streamed_array_is_the_json_of_its_items(items: list[dict]) -> None:
    buffer = io.StringIO()
    assert write_array(buffer, iter(items)) == len(items)
    assert json.loads(buffer.getvalue()) == items
    assert buffer.getvalue().count("\n") == (len(items) + 1 if items else 0)  # one element per line


def test_streamed_findings_load_back_unchanged(tmp_path: Path) -> None:
    findings = [finding("c-1", Status.FAIL, name=f"bucket-{i}") for i in range(3)] + [finding("c-2", Status.PASS)]
    folder = RunFolder(tmp_path, "20261129T000000Z-abcdef").create()
    with folder.open_text(FINDINGS_JSON) as handle:
        write_findings_json(handle, {"run_id": folder.run_id}, iter(findings))
    assert load_findings(folder.path) == findings
    assert json.loads((folder.path / FINDINGS_JSON).read_text())["run"] == {"run_id": folder.run_id}


def test_a_failed_stream_leaves_neither_the_file_nor_a_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "findings" / "findings.json"
    target.parent.mkdir()
    target.write_text("previous")

    def broken():
        yield {"ok": 1}
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        write_array(handle, broken())
    assert target.read_text() == "previous"
    assert [p.name for p in target.parent.iterdir()] == ["findings.json"]


def test_ocsf_is_streamed_one_detection_finding_per_line() -> None:
    controls = {"c-1": control("c-1")}
    buffer = io.StringIO()
    count = write_ocsf_json(buffer, (finding("c-1", Status.FAIL, name=f"r{i}") for i in range(4)), controls, STARTED)
    items = json.loads(buffer.getvalue())
    assert count == len(items) == 4
    assert [i["resources"][0]["name"] for i in items] == ["r0", "r1", "r2", "r3"]
