"""Audit packs: contents, index hashes, period and scope, verification, and the pre-audit flow end to end."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import shutil
import zipfile
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import get_args

import pytest
from moto import mock_aws

from complyflow.core.config import FRAMEWORKS, Config, load_config
from complyflow.core.model import Finding, Status
from complyflow.demo import seed_demo_estate
from flows.pre_audit import AUDIT_PACK_INDEX_KEY, AUDIT_PACK_KEY, FrameworkName, download_hint, pre_audit
from tasks.audit_pack import CHECKSUMS, INDEX, PackRequest, build_audit_pack, resolve_period
from tasks.evidence import MANIFEST, LocalStore, RunFolder, prune, seal
from tasks.findings import FINDINGS_CSV, FINDINGS_JSON, findings_csv

RUNS = ("20260301T020000Z-aaaaaa", "20260302T020000Z-bbbbbb", "20260310T020000Z-cccccc")
NOW = datetime(2026, 3, 11, 9, tzinfo=UTC)


def _finding(run_id: str, control: str, name: str, status: Status, account: str = "123456789012") -> Finding:
    arn = f"arn:aws:s3:::{name}"
    return Finding(
        run_id=run_id,
        control_id=control,
        control_title=control,
        resource_arn=arn,
        resource_id=arn,
        resource_type="AwsS3Bucket",
        resource_name=name,
        account=account,
        region="us-east-1",
        status=status,
        severity="high",
        owner="data-eng",
        observed="none",
        expected="encrypted",
        evidence_file="evidence/s3_buckets.parquet",
    )


def _run(root: Path, run_id: str, findings: list[Finding]) -> None:
    folder = RunFolder(root, run_id).create()
    folder.write_text("evidence/s3_buckets.parquet", "PAR1 stand-in for a table")
    folder.write_json(FINDINGS_JSON, {"run": {"run_id": run_id}, "findings": [f.to_dict() for f in findings]})
    folder.write_text(FINDINGS_CSV, findings_csv(findings))
    seal(folder, {"flow": "nightly"})


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    root = tmp_path / "evidence"
    for run_id in RUNS:
        _run(
            root,
            run_id,
            [
                _finding(run_id, "s3-bucket-default-encryption", "<script>alert(1)</script>", Status.FAIL),
                _finding(run_id, "s3-bucket-default-encryption", "good-bucket", Status.PASS),
                _finding(run_id, "s3-bucket-tls-only", "good-bucket", Status.PASS, account="210987654321"),
            ],
        )
    return LocalStore(root)


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config()


def _open(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_pack_holds_the_period_its_manifests_catalog_register_and_findings(
    store: LocalStore, config: Config, tmp_path: Path
) -> None:
    request = PackRequest(period_start=date(2026, 3, 2), period_end=date(2026, 3, 10))
    pack = build_audit_pack(store, config, request, out_dir=tmp_path / "out", now=NOW)
    files = _open(pack.path)
    assert pack.runs == list(RUNS[1:]) and pack.verification.ok
    assert not any(name.startswith(f"runs/{RUNS[0]}") for name in files)  # before the period
    for run_id in RUNS[1:]:
        for relative in ("evidence/s3_buckets.parquet", FINDINGS_JSON, FINDINGS_CSV, MANIFEST):
            assert files[f"runs/{run_id}/{relative}"] == store.get_bytes(f"runs/{run_id}/{relative}")
    assert "chain-head.json" in files and json.loads(files["verification.json"])["ok"] is True
    catalog = list(csv.DictReader(io.StringIO(files["controls/catalog.csv"].decode())))
    assert {row["id"] for row in catalog} == {c.id for c in config.controls}
    row = next(r for r in catalog if r["id"] == "s3-bucket-default-encryption")
    assert set(FRAMEWORKS) <= set(row) and row["soc2"] == "CC6.1" and row["in_scope"] == "true"
    register = json.loads(files["exceptions/register.json"])
    assert [e["id"] for e in register["exceptions"]] == [e.id for e in config.exceptions.exceptions]
    newest = list(csv.DictReader(io.StringIO(files["findings/findings.csv"].decode())))
    assert len(newest) == 3 and {r["run_id"] for r in newest} == {RUNS[2]}
    ocsf = json.loads(files["findings/findings.ocsf.json"])
    assert len(ocsf) == 3 and {item["metadata"]["event_code"] for item in ocsf} == {
        "s3-bucket-default-encryption",
        "s3-bucket-tls-only",
    }
    page = files["findings/findings.html"].decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert "Evidence verified" in page
    assert pack.url == store.url(f"audit-packs/{pack.path.name}")
    assert store.get_bytes(f"audit-packs/{pack.path.name}") == pack.path.read_bytes()


def test_index_and_checksums_cover_every_file(store: LocalStore, config: Config) -> None:
    pack = build_audit_pack(store, config, PackRequest(date(2026, 3, 1), date(2026, 3, 10)), now=NOW)
    assert pack.path.parent == store.root / "audit-packs"
    files = _open(pack.path)
    index = json.loads(files[INDEX])
    assert set(index["files"]) == set(files) - {INDEX, CHECKSUMS}
    for name, entry in index["files"].items():
        assert hashlib.sha256(files[name]).hexdigest() == entry["sha256"], name
        assert len(files[name]) == entry["bytes"]
    sums = dict(reversed(line.split("  ", 1)) for line in files[CHECKSUMS].decode().splitlines())
    assert set(sums) == set(files) - {CHECKSUMS}
    assert all(hashlib.sha256(files[name]).hexdigest() == digest for name, digest in sums.items())
    assert [r["run_id"] for r in index["runs"]] == list(RUNS)
    assert index["runs"][1]["previous_run_id"] == RUNS[0]
    assert pack.sha256 == hashlib.sha256(pack.path.read_bytes()).hexdigest()


def test_scope_narrows_the_findings_not_the_sealed_evidence(store: LocalStore, config: Config) -> None:
    request = PackRequest(
        date(2026, 3, 1), date(2026, 3, 10), control_ids=("s3-bucket-tls-only",), account_ids=("210987654321",)
    )
    files = _open(build_audit_pack(store, config, request, now=NOW).path)
    rows = list(csv.DictReader(io.StringIO(files["findings/findings.csv"].decode())))
    assert [(r["control_id"], r["account"]) for r in rows] == [("s3-bucket-tls-only", "210987654321")]
    assert f"runs/{RUNS[2]}/{FINDINGS_JSON}" in files  # sealed files are packed whole, or they would not verify
    catalog = {r["id"]: r["in_scope"] for r in csv.DictReader(io.StringIO(files["controls/catalog.csv"].decode()))}
    assert catalog["s3-bucket-tls-only"] == "true" and catalog["s3-bucket-default-encryption"] == "false"


def test_tampered_evidence_is_packed_with_a_failed_verification(store: LocalStore, config: Config) -> None:
    (store.root / "runs" / RUNS[1] / "evidence" / "s3_buckets.parquet").write_text("edited")
    pack = build_audit_pack(store, config, PackRequest(date(2026, 3, 1), date(2026, 3, 10)), now=NOW)
    files = _open(pack.path)
    assert not pack.verification.ok
    assert json.loads(files[INDEX])["verification"] == {"ok": False, "issues": 1, "signatures_checked": 0}
    issues = json.loads(files["verification.json"])["issues"]
    assert [(i["kind"], i["path"]) for i in issues] == [("altered", f"runs/{RUNS[1]}/evidence/s3_buckets.parquet")]
    assert "Evidence verification FAILED" in files["findings/findings.html"].decode()


def test_pruned_runs_keep_their_manifest_and_tombstone_in_the_pack(store: LocalStore, config: Config) -> None:
    prune(store, retention_days=5, now=NOW)
    pack = build_audit_pack(store, config, PackRequest(date(2026, 3, 1), date(2026, 3, 10)), retention_days=5, now=NOW)
    files = _open(pack.path)
    assert sorted(n for n in files if n.startswith(f"runs/{RUNS[0]}/")) == [
        f"runs/{RUNS[0]}/manifest.json",
        f"runs/{RUNS[0]}/pruned.json",
    ]
    assert pack.verification.ok
    assert [r["pruned"] for r in json.loads(files[INDEX])["runs"]] == [True, True, False]


def test_empty_period_and_unknown_runs_are_refused(store: LocalStore, config: Config) -> None:
    with pytest.raises(ValueError, match="no stored runs between 2025-01-01 and 2025-02-01"):
        build_audit_pack(store, config, PackRequest(date(2025, 1, 1), date(2025, 2, 1)), now=NOW)
    with pytest.raises(ValueError, match="20990101T000000Z-ffffff.* not found"):
        build_audit_pack(
            store,
            config,
            PackRequest(date(2026, 3, 1), date(2026, 3, 2), include_runs=("20990101T000000Z-ffffff",)),
            now=NOW,
        )


def test_period_defaults_and_bad_periods() -> None:
    today = date(2026, 3, 11)
    assert resolve_period(None, None, 90, today) == (date(2025, 12, 11), today)
    assert resolve_period(date(2026, 1, 1), None, 90, today) == (date(2026, 1, 1), today)
    assert resolve_period(None, date(2026, 2, 1), 10, today) == (date(2026, 1, 22), date(2026, 2, 1))
    assert resolve_period(today, today, 90, today) == (today, today)
    with pytest.raises(ValueError, match="after period_end"):
        resolve_period(date(2026, 3, 5), date(2026, 3, 1), 90, today)
    with pytest.raises(ValueError, match="in the future"):
        resolve_period(None, date(2026, 3, 12), 90, today)


def test_framework_choices_match_the_catalog_frameworks() -> None:
    assert get_args(FrameworkName) == FRAMEWORKS


def test_download_hint_never_signs_a_url() -> None:
    assert download_hint("s3://bkt/ev/audit-packs/p.zip") == "`aws s3 cp s3://bkt/ev/audit-packs/p.zip .`"
    assert download_hint("file:///srv/ev/audit-packs/p.zip") == "`/srv/ev/audit-packs/p.zip` on the worker's disk"
    assert download_hint(Path("/srv/my evidence/p.zip").as_uri()) == "`/srv/my evidence/p.zip` on the worker's disk"


# --- the flow ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pre_audit_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> dict:
    evidence = tmp_path_factory.mktemp("pre-audit") / "evidence"
    with mock_aws():
        seed_demo_estate()
        return pre_audit(
            frameworks=["soc2"],
            controls=["s3-bucket-default-encryption", "iam-user-console-mfa"],
            evidence_dir=str(evidence),
        )


def test_pre_audit_runs_fresh_and_links_its_pack(pre_audit_run: dict) -> None:
    pack = pre_audit_run["audit_pack"]
    assert pack["verified"] and pack["runs"] == [pre_audit_run["run_id"]]
    files = _open(Path(pack["path"]))
    rows = list(csv.DictReader(io.StringIO(files["findings/findings.csv"].decode())))
    assert {r["control_id"] for r in rows} == {"s3-bucket-default-encryption", "iam-user-console-mfa"}
    sealed = json.loads(Path(pre_audit_run["run_dir"], FINDINGS_JSON).read_text())["findings"]
    assert sorted((r["key"], r["status"]) for r in rows) == sorted((f["key"], f["status"]) for f in sealed)
    failing = {(r["control_id"], r["resource_name"]) for r in rows if r["status"] == "FAIL"}
    assert {("s3-bucket-default-encryption", "demo-eu-features"), ("iam-user-console-mfa", "bob")} <= failing
    run = pre_audit_run["run_id"]
    assert f"runs/{run}/evidence/s3_buckets.parquet" in files and f"runs/{run}/{MANIFEST}" in files
    assert files[f"runs/{run}/{FINDINGS_JSON}"] == Path(pre_audit_run["run_dir"], FINDINGS_JSON).read_bytes()
    assert pack["findings"] == dict(Counter(r["status"] for r in rows))


def test_pre_audit_publishes_link_and_index_artifacts(pre_audit_run: dict) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def latest() -> dict[str, object]:
        async with get_client() as client:
            found = await client.read_latest_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[AUDIT_PACK_KEY, AUDIT_PACK_INDEX_KEY]))
            )
            return {a.key: a for a in found}

    artifacts = asyncio.run(latest())
    link = artifacts[AUDIT_PACK_KEY]
    name = Path(pre_audit_run["audit_pack"]["path"]).name
    assert link.data == f"[{name}]({pre_audit_run['audit_pack']['url']})"  # Prefect renders links as markdown
    assert pre_audit_run["audit_pack"]["sha256"] in str(artifacts[AUDIT_PACK_INDEX_KEY].data)


def test_bad_period_fails_before_collecting(prefect_harness: None, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="after period_end"):
        pre_audit(period_start=date(2026, 3, 5), period_end=date(2026, 3, 1), evidence_dir=str(tmp_path))
    assert not (tmp_path / "runs").exists()


def test_pack_from_a_copied_store_still_verifies(store: LocalStore, config: Config, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(store.root, copy)
    assert build_audit_pack(
        LocalStore(copy), config, PackRequest(date(2026, 3, 1), date(2026, 3, 10)), now=NOW
    ).verification.ok
