"""Recurring-evidence documents travel into the sealed run: manifest, verification and audit pack, with their hashes."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml
from moto import mock_aws

from complyflow.core.config import load_config
from complyflow.core.model import EvidenceDocument
from complyflow.demo.recurring import seed_recurring_evidence
from flows.nightly import nightly_compliance
from tasks.audit_pack import INDEX, PackRequest, build_audit_pack
from tasks.evidence import MANIFEST, LocalStore, RunFolder
from tasks.recurring.documents import write_documents
from tasks.verify import verify_store
from tests.conftest import CONFIGS

#: What the demo's recurring evidence shows (complyflow/demo/recurring.py, configs/recurring/*.csv).
DEMO_RECURRING_FAILURES = {
    ("recurring-ir-plan-drill", "AI incident response plan is drilled"),
    ("recurring-post-incident-reviews", "Post-incident reviews are held and lessons recorded"),
    ("recurring-ai-security-training-completion-rate", "AI security awareness training export is current"),
    (
        "recurring-policy-enforcement-review",
        "Policy violations and their handling are reviewed for consistent enforcement",
    ),
    ("s3-bucket-tls-only", "demo-grc-evidence"),  # moto cannot read back through a TLS-only policy
}
DEMO_RECURRING_REMINDERS = {("recurring-awareness-activity-due-soon", "AI security awareness activity is held")}
DEMO_RECURRING_OWNERS = {"security-team", "platform-team"}


def _document(path: str, data: bytes = b"minutes") -> EvidenceDocument:
    return EvidenceDocument(path, data, hashlib.sha256(data).hexdigest(), "s3://b/k")


@pytest.mark.parametrize(
    "path",
    [
        "evidence/documents/../../manifest.json",
        "evidence/documents/task/abababababab-../x",
        "/etc/passwd",
        "evidence/gaps.json",
        "evidence/documents/task/nohash.md",
    ],
)
def test_only_document_paths_are_written(tmp_path: Path, path: str) -> None:
    folder = RunFolder(tmp_path, "20260615T000000Z-aaaaaa").create()
    with pytest.raises(ValueError, match="not a document path"):
        write_documents(folder, [_document(path)])


def test_documents_are_written_once_with_the_recorded_hash(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "20260615T000000Z-aaaaaa").create()
    good = _document("evidence/documents/task/abababababab-minutes.md")
    assert write_documents(folder, [good, good]) == [good.path]
    assert (folder.path / good.path).read_bytes() == b"minutes"
    with pytest.raises(FileExistsError):
        write_documents(folder, [good])
    tampered = EvidenceDocument("evidence/documents/task/cdcdcdcdcdcd-x.md", b"other", good.sha256, "x")
    with pytest.raises(ValueError, match="differ from the SHA-256"):
        write_documents(folder, [tampered])


def test_a_symlinked_documents_folder_is_refused(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "root", "20260615T000000Z-aaaaaa").create()
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder.path / "evidence" / "documents").mkdir()
    (folder.path / "evidence" / "documents" / "task").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="outside the run folder"):
        write_documents(folder, [_document("evidence/documents/task/abababababab-minutes.md")])
    assert not list(outside.iterdir())


@pytest.fixture(scope="module")
def sealed(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, Path]]:
    """A nightly run of the shipped recurring tasks (and one S3 control) on the demo's recurring evidence."""
    configs = tmp_path_factory.mktemp("configs") / "configs"
    shutil.copytree(CONFIGS, configs)
    for path in (configs / "controls").iterdir():
        if path.stem != "s3-bucket-tls-only":
            path.unlink()
    (configs / "exceptions.yaml").write_text("exceptions: []\n", encoding="utf-8")
    evidence = tmp_path_factory.mktemp("evidence")
    with mock_aws():
        seed_recurring_evidence(datetime.now(UTC))
        result = nightly_compliance(config_dir=str(configs), evidence_dir=str(evidence))
    yield result, evidence


def test_demo_recurring_findings(sealed: tuple[dict, Path]) -> None:
    result, _ = sealed
    findings = json.loads((Path(result["run_dir"]) / "findings" / "findings.json").read_text())["findings"]
    by_status = {
        status: {(f["control_id"], f["resource_name"]) for f in findings if f["status"] == status}
        for status in ("FAIL", "REMINDER", "ERROR")
    }
    assert by_status == {"FAIL": DEMO_RECURRING_FAILURES, "REMINDER": DEMO_RECURRING_REMINDERS, "ERROR": set()}
    tasks = yaml.safe_load((CONFIGS / "recurring.yaml").read_text(encoding="utf-8"))["tasks"]
    passed = {f["control_id"] for f in findings if f["status"] == "PASS"}
    assert {f"recurring-{t['id']}" for t in tasks} - passed == {
        "recurring-ir-plan-drill",
        "recurring-post-incident-reviews",
        "recurring-policy-enforcement-review",
    }
    told = [f for f in findings if f["control_id"].startswith("recurring-") and f["status"] in ("FAIL", "REMINDER")]
    assert {(f["owner"], f["owner_route"], f["notify_route"]) for f in told} == {
        ("security-team", "tag:owner", "owners.yaml:security-team -> #security"),
        ("platform-team", "tag:owner", "owners.yaml:platform-team -> #platform-alerts"),  # the IR drill
    }


def test_documents_are_in_the_manifest_with_the_hashes_of_the_evidence_table(sealed: tuple[dict, Path]) -> None:
    result, evidence = sealed
    run = Path(result["run_dir"])
    manifest = json.loads((run / MANIFEST).read_text())["files"]
    documents = {name: entry for name, entry in manifest.items() if name.startswith("evidence/documents/")}
    table = pd.read_parquet(run / "evidence" / "recurring_evidence.parquet")
    assert {name.split("/")[2] for name in documents} == set(table["task_id"])  # every task filed a document
    for copy, digest in zip(table["evidence_copy"], table["evidence_sha256"], strict=True):
        assert manifest[copy]["sha256"] == digest == hashlib.sha256((run / copy).read_bytes()).hexdigest()
    assert verify_store(LocalStore(evidence)).ok


def test_audit_pack_holds_the_documents_with_their_hashes(sealed: tuple[dict, Path]) -> None:
    result, evidence = sealed
    run_id = result["run_id"]
    store = LocalStore(evidence)
    today = datetime.now(UTC).date()
    pack = build_audit_pack(store, load_config(CONFIGS), PackRequest(today, today), out_dir=evidence / "packs")
    assert pack.verification.ok
    manifest = json.loads((Path(result["run_dir"]) / MANIFEST).read_text())["files"]
    with zipfile.ZipFile(pack.path) as archive:
        index = json.loads(archive.read(INDEX))["files"]
        packed = {n: e for n, e in index.items() if n.startswith(f"runs/{run_id}/evidence/documents/")}
        assert len(packed) == len([n for n in manifest if n.startswith("evidence/documents/")]) >= 8
        for name, entry in packed.items():
            data = archive.read(name)
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
            assert entry["sha256"] == manifest[name.removeprefix(f"runs/{run_id}/")]["sha256"]
