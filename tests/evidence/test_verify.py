"""`verify_store` on a local store: an untouched store passes; every kind of tampering is named."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd

from tasks.evidence import CHAIN_HEAD, MANIFEST, LocalStore, read_chain_head, sha256_file
from tasks.verify import ERROR, WARNING, verify_store
from tests.evidence.conftest import RUN_IDS, make_run

FIRST, MIDDLE, LAST = RUN_IDS


def _issues(root: Path, **kwargs: object) -> set[tuple[str, str]]:
    report = verify_store(LocalStore(root), **kwargs)  # type: ignore[arg-type]
    return {(i.kind, i.path) for i in report.issues}


def test_untouched_store_passes_and_the_chain_links_every_manifest(root: Path) -> None:
    report = verify_store(LocalStore(root))
    assert report.ok and report.issues == []
    assert report.runs_checked == list(RUN_IDS)
    assert report.files_checked == 3 * 3  # parquet, findings.json, findings.csv per run
    manifests = {r: json.loads((root / "runs" / r / MANIFEST).read_text()) for r in RUN_IDS}
    assert manifests[FIRST]["previous_run_id"] is None
    assert manifests[MIDDLE]["previous_manifest_sha256"] == sha256_file(root / "runs" / FIRST / MANIFEST)
    assert manifests[LAST]["previous_run_id"] == MIDDLE
    head, _ = read_chain_head(LocalStore(root))
    assert head is not None and head.run_id == LAST
    assert head.manifest_sha256 == sha256_file(root / "runs" / LAST / MANIFEST)


def test_edited_parquet_is_named(root: Path) -> None:
    target = root / "runs" / MIDDLE / "evidence" / "s3_buckets.parquet"
    frame = pd.read_parquet(target)
    frame.loc[1, "encrypted"] = True  # someone "fixes" the evidence
    frame.to_parquet(target, index=False)
    assert _issues(root) == {("altered", f"runs/{MIDDLE}/evidence/s3_buckets.parquet")}


def test_deleted_file_is_named(root: Path) -> None:
    (root / "runs" / FIRST / "findings" / "findings.csv").unlink()
    assert _issues(root) == {("missing", f"runs/{FIRST}/findings/findings.csv")}


def test_extra_file_is_named(root: Path) -> None:
    (root / "runs" / LAST / "evidence" / "late_addition.parquet").write_bytes(b"PAR1")
    assert _issues(root) == {("extra", f"runs/{LAST}/evidence/late_addition.parquet")}


def test_edited_manifest_is_named_even_when_it_matches_edited_files(root: Path) -> None:
    run = root / "runs" / MIDDLE
    csv = run / "findings" / "findings.csv"
    csv.write_text("control_id,status\nanything,PASS\n")
    manifest = json.loads((run / MANIFEST).read_text())
    manifest["files"]["findings/findings.csv"]["sha256"] = sha256_file(csv)  # cover the tracks
    (run / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    assert _issues(root) == {("altered", f"runs/{MIDDLE}/{MANIFEST}")}


def test_edited_newest_manifest_is_caught_by_the_chain_head(root: Path) -> None:
    path = root / "runs" / LAST / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["metadata"]["flow"] = "something else"
    path.write_text(json.dumps(manifest))
    assert _issues(root) == {("altered", f"runs/{LAST}/{MANIFEST}")}


def test_removed_run_is_named_and_older_runs_are_still_checked(root: Path) -> None:
    shutil.rmtree(root / "runs" / MIDDLE)
    (root / "runs" / FIRST / "findings" / "findings.csv").write_text("tampered")
    report = verify_store(LocalStore(root))
    assert not report.ok
    assert {(i.kind, i.path) for i in report.issues} == {
        ("run-missing", f"runs/{MIDDLE}/"),
        ("altered", f"runs/{FIRST}/findings/findings.csv"),
    }
    assert "referenced by run " + LAST in report.issues[0].detail


def test_removed_newest_run_is_named(root: Path) -> None:
    shutil.rmtree(root / "runs" / LAST)
    assert _issues(root) == {("run-missing", f"runs/{LAST}/")}


def test_removed_chain_head_is_reported(root: Path) -> None:
    (root / CHAIN_HEAD).unlink()
    assert _issues(root) == {("head-missing", CHAIN_HEAD)}


def test_unsealed_run_is_a_warning_and_a_foreign_folder_an_error(root: Path) -> None:
    crashed = root / "runs" / "20260104T020000Z-dddddd" / "evidence"
    crashed.mkdir(parents=True)
    (crashed / "iam_users.parquet").write_bytes(b"PAR1")
    report = verify_store(LocalStore(root))
    assert [(i.kind, i.severity) for i in report.issues] == [("interrupted", WARNING)]
    assert report.ok
    (root / "runs" / "notes").mkdir()
    (root / "runs" / "notes" / "readme.txt").write_text("hi")
    report = verify_store(LocalStore(root))
    assert ("extra", "runs/notes/", ERROR) in {(i.kind, i.path, i.severity) for i in report.issues}
    assert not report.ok


def test_fabricated_sealed_run_is_not_on_the_chain(root: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    forged = make_run(other, "20260102T120000Z-eeeeee")
    shutil.copytree(forged.path, root / "runs" / forged.run_id)
    assert _issues(root) == {("unlinked", f"runs/{forged.run_id}/{MANIFEST}")}


def test_since_limits_file_checks_but_keeps_the_link_into_the_period(root: Path) -> None:
    (root / "runs" / FIRST / "findings" / "findings.csv").write_text("tampered")
    report = verify_store(LocalStore(root), since=date(2026, 1, 2))
    assert report.ok and report.runs_checked == [MIDDLE, LAST]
    manifest = root / "runs" / FIRST / MANIFEST
    manifest.write_text(manifest.read_text().replace('"test"', '"edited"'))
    assert _issues(root, since=date(2026, 1, 2)) == {("altered", f"runs/{FIRST}/{MANIFEST}")}


def test_runs_sealed_out_of_start_order_still_form_one_chain(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    make_run(root, "20260105T030000Z-bbbbbb")  # started later, sealed first
    make_run(root, "20260105T020000Z-aaaaaa")
    early = json.loads((root / "runs" / "20260105T020000Z-aaaaaa" / MANIFEST).read_text())
    assert early["previous_run_id"] == "20260105T030000Z-bbbbbb"
    assert verify_store(LocalStore(root)).issues == []
