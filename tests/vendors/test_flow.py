"""The weekly vendor-reviews flow: only the vendor controls, on the demo register, with owner digests."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from moto import mock_aws

import tasks.collect
from complyflow.core.config import load_config
from flows.vendors import vendor_control_ids, vendor_reviews
from tasks.collect.vendors import COLLECTOR
from tests.vendors.conftest import CONFIGS
from tests.vendors.test_demo_register import DEMO_VENDOR_FAILURES, DEMO_VENDOR_OWNERS

VENDOR_CONTROLS = sorted(p.stem for p in CONFIGS.glob("controls/vendor-*.yaml"))


@pytest.fixture(scope="module")
def vendor_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    patch = pytest.MonkeyPatch()
    if COLLECTOR not in tasks.collect.COLLECTORS:  # until tasks/collect/__init__.py registers it
        patch.setattr(tasks.collect, "COLLECTORS", (*tasks.collect.COLLECTORS, COLLECTOR))
        patch.setattr(
            tasks.collect,
            "TABLE_SOURCES",
            {**tasks.collect.TABLE_SOURCES, **dict.fromkeys(COLLECTOR.tables, COLLECTOR)},
        )
    evidence = tmp_path_factory.mktemp("vendors") / "evidence"
    try:
        with mock_aws():
            yield vendor_reviews(config_dir=str(CONFIGS), evidence_dir=str(evidence))
    finally:
        patch.undo()


def _findings(result: dict) -> list[dict]:
    return json.loads((Path(result["run_dir"]) / "findings" / "findings.json").read_text())["findings"]


def test_the_flow_runs_the_vendor_controls_alone(vendor_run: dict) -> None:
    assert vendor_run["flow"] == "vendors"
    assert sorted(vendor_run["scope"]["controls"]) == VENDOR_CONTROLS
    evidence = sorted(p.name for p in (Path(vendor_run["run_dir"]) / "evidence").glob("*.parquet"))
    assert evidence == ["vendor_answers.parquet", "vendor_certifications.parquet", "vendors.parquet"]


def test_the_flow_reports_the_demo_register_exactly(vendor_run: dict) -> None:
    findings = _findings(vendor_run)
    assert {(f["control_id"], f["resource_name"]) for f in findings if f["status"] == "FAIL"} == DEMO_VENDOR_FAILURES
    assert not [f for f in findings if f["status"] == "ERROR"]
    assert {f["control_id"] for f in findings} == set(VENDOR_CONTROLS)


def test_owners_get_their_reminders_and_violations(vendor_run: dict) -> None:
    outbox = Path(vendor_run["notifications"]["outbox_file"])
    records = [json.loads(line) for line in outbox.read_text().splitlines()]
    digests = {r["owner"]: r for r in records if r.get("kind") == "message" and r.get("purpose") == "digest"}
    assert set(digests) == DEMO_VENDOR_OWNERS
    initech = digests["ml-security@example.com"]["items"]
    imminent = {i["resource_name"] for i in initech if i["control_id"] == "vendor-review-due-imminent"}
    assert imminent == {"Initech Labelling"}


def _write_control(folder: Path, control_id: str, **changes: object) -> None:
    data = yaml.safe_load((folder / "controls" / "vendor-dpa-signed.yaml").read_text())
    data.update(id=control_id, **changes)
    (folder / "controls" / f"{control_id}.yaml").write_text(yaml.safe_dump(data))


def test_vendor_controls_are_found_by_evidence_table(tmp_path: Path) -> None:
    folder = tmp_path / "configs"
    shutil.copytree(CONFIGS, folder)
    _write_control(folder, "vendor-contract-current")  # a new vendor control joins without a list to edit
    _write_control(folder, "zz-vendor-lookalike", evidence_table="s3_buckets")
    (folder / "controls" / "vendor-right-to-audit.yaml").write_text(
        (folder / "controls" / "vendor-right-to-audit.yaml").read_text() + "enabled: false\n"
    )
    ids = vendor_control_ids(load_config(folder))
    assert "vendor-contract-current" in ids
    assert "zz-vendor-lookalike" not in ids and "vendor-right-to-audit" not in ids
    assert len(ids) == len(VENDOR_CONTROLS)


def test_no_vendor_control_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "configs"
    shutil.copytree(CONFIGS, folder)
    for path in (folder / "controls").glob("vendor-*.yaml"):
        path.unlink()
    with pytest.raises(ValueError, match=r"no enabled control reads the vendor tables \(vendors, "):
        vendor_control_ids(load_config(folder))
