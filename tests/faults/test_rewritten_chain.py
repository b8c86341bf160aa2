"""A consistent rewrite of a local chain (file altered, every manifest and the head rehashed) fails verify.

The hash chain alone cannot see it: whoever can write the store can rehash everything. The signature
can: the rewritten manifests are not signed by the expected key, and a signature made with another key
is named as such. `verify --public-key` needs nothing but the exported public key.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from complyflow.cli import app
from complyflow.core.deploy_config import SigningSpec
from tasks.evidence import CHAIN_HEAD, MANIFEST, SIGNATURE_FILE, LocalStore, canonical_json
from tasks.signing import load_signer, signature_record
from tasks.verify import verify_store
from tests.evidence.conftest import RUN_IDS, make_run

FIRST, MIDDLE, LAST = RUN_IDS
runner = CliRunner()


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path]:
    """Three signed runs and the key file that signed them."""
    key_file = tmp_path / "key.pem"
    signer = load_signer(SigningSpec(key_file=str(key_file)), None)
    root = tmp_path / "evidence"
    for run_id in RUN_IDS:
        make_run(root, run_id, signer=signer)
    return root, key_file


def _rewrite_consistently(root: Path, resign_with: Path | None = None) -> None:
    """Alter MIDDLE's evidence, then rehash its manifest, LAST's link and the head, as a custodian could."""
    run = root / "runs" / MIDDLE
    table = run / "evidence" / "s3_buckets.parquet"
    frame = pd.read_parquet(table)
    frame["encrypted"] = True  # the violation disappears
    frame.to_parquet(table)
    previous_hash = None
    for run_id in (MIDDLE, LAST):
        path = root / "runs" / run_id / MANIFEST
        manifest = json.loads(path.read_text())
        if run_id == MIDDLE:
            entry = manifest["files"]["evidence/s3_buckets.parquet"]
            entry["sha256"] = hashlib.sha256(table.read_bytes()).hexdigest()
            entry["bytes"] = table.stat().st_size
        else:
            manifest["previous_manifest_sha256"] = previous_hash
        data = canonical_json(manifest)
        path.write_bytes(data)
        previous_hash = hashlib.sha256(data).hexdigest()
        if resign_with is not None:
            forger = load_signer(SigningSpec(key_file=str(resign_with)), None)
            (path.parent / SIGNATURE_FILE).write_bytes(signature_record(forger, data))
    head = json.loads((root / CHAIN_HEAD).read_text())
    head["manifest_sha256"] = previous_hash
    (root / CHAIN_HEAD).write_bytes(canonical_json(head))


def _public_key(key_file: Path, tmp_path: Path) -> Path:
    out = tmp_path / "auditor.pem"
    result = runner.invoke(app, ["signing-key", "--out", str(out)], env={"COMPLYFLOW_SIGNING_KEY_FILE": str(key_file)})
    assert result.exit_code == 0, result.output
    return out


def test_untouched_signed_chain_verifies_with_the_auditor_key(signed: tuple[Path, Path], tmp_path: Path) -> None:
    root, key_file = signed
    public = _public_key(key_file, tmp_path)
    result = runner.invoke(
        app, ["verify", "--evidence-dir", str(root), "--public-key", str(public)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "3 run(s), 3 signature(s)" in result.output


def test_a_consistent_rewrite_passes_the_hash_chain_but_not_the_signatures(signed: tuple[Path, Path]) -> None:
    root, key_file = signed
    _rewrite_consistently(root)
    store = LocalStore(root)
    assert verify_store(store).ok  # without a key: the rewrite is consistent, the chain alone cannot tell
    public = load_signer(SigningSpec(key_file=str(key_file)), None).public_key_pem()
    report = verify_store(store, public_key_pem=public)
    problems = {(i.kind, i.path, i.detail) for i in report.issues}
    assert problems == {
        ("signature", f"runs/{MIDDLE}/{MANIFEST}", "not signed by the expected key"),
        ("signature", f"runs/{LAST}/{MANIFEST}", "not signed by the expected key"),
    }


def test_a_rewrite_signed_with_another_key_fails_verify_at_the_cli(signed: tuple[Path, Path], tmp_path: Path) -> None:
    root, key_file = signed
    public = _public_key(key_file, tmp_path)
    _rewrite_consistently(root, resign_with=tmp_path / "forger.pem")
    result = runner.invoke(
        app, ["verify", "--evidence-dir", str(root), "--public-key", str(public)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1, result.output
    assert result.output.count("not signed by the expected key") == 2


def test_a_stripped_signature_after_signed_runs_is_an_error(signed: tuple[Path, Path]) -> None:
    root, key_file = signed
    (root / "runs" / LAST / SIGNATURE_FILE).unlink()
    public = load_signer(SigningSpec(key_file=str(key_file)), None).public_key_pem()
    report = verify_store(LocalStore(root), public_key_pem=public)
    assert [(i.kind, i.detail) for i in report.issues] == [("signature", "not signed, although earlier manifests are")]
