"""`complyflow verify`, `prune` and `audit-pack` from the command line: output, exit codes, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from complyflow.cli import app
from tests.evidence.conftest import RUN_IDS

runner = CliRunner()
FIRST, MIDDLE, LAST = RUN_IDS


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_verify_passes_on_an_untouched_store(root: Path) -> None:
    code, out = _run("verify", "--evidence-dir", str(root))
    assert code == 0, out
    assert "verified: 3 run(s), 0 signature(s), 9 file(s), 0 interrupted run(s)" in out


def test_verify_names_each_problem_and_exits_1(root: Path) -> None:
    (root / "runs" / FIRST / "findings" / "findings.csv").unlink()
    shutil.rmtree(root / "runs" / MIDDLE)
    (root / "runs" / LAST / "evidence" / "extra.parquet").write_bytes(b"x")
    code, out = _run("verify", "--evidence-dir", str(root))
    assert code == 1
    assert f"runs/{FIRST}/findings/findings.csv" in out and f"runs/{MIDDLE}/" in out
    assert f"runs/{LAST}/evidence/extra.parquet" in out and "FAILED" in out


def test_verify_json_and_since(root: Path) -> None:
    (root / "runs" / FIRST / "findings" / "findings.csv").write_text("edited")
    code, out = _run("verify", "--evidence-dir", str(root), "--since", "2026-01-02", "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["runs_checked"] == [MIDDLE, LAST]


def test_bad_date_and_bad_store_config_exit_2(root: Path, config_dir: Path) -> None:
    code, out = _run("verify", "--evidence-dir", str(root), "--since", "01/02/2026")
    assert code == 2 and "YYYY-MM-DD" in out
    (config_dir / "evidence-store.yaml").write_text("backend: tape\n")
    code, out = _run("verify", "--config", str(config_dir), "--evidence-dir", str(root))
    assert code == 2 and "evidence-store.yaml" in out and "backend" in out


def test_prune_dry_run_then_for_real(root: Path, config_dir: Path) -> None:
    (config_dir / "evidence-store.yaml").write_text("retention_days: 30\n")
    args = ("--config", str(config_dir), "--evidence-dir", str(root))
    code, out = _run("prune", "--dry-run", *args)
    assert code == 0 and "would prune 3 run(s) older than 30 days" in out  # the runs are from January 2026
    assert (root / "runs" / FIRST / "evidence").is_dir()
    code, out = _run("prune", *args)
    assert code == 0 and "pruned 3 run(s)" in out
    assert not (root / "runs" / FIRST / "evidence").exists()
    code, out = _run("verify", *args)
    assert code == 0, out


def test_audit_pack_from_stored_runs(root: Path, tmp_path: Path) -> None:
    code, out = _run(
        "audit-pack",
        "--since",
        "2026-01-02",
        "--until",
        "2026-01-03",
        "--evidence-dir",
        str(root),
        "--out",
        str(tmp_path / "packs"),
    )
    assert code == 0, out
    packs = list((tmp_path / "packs").glob("audit-pack-20260102-20260103-*.zip"))
    assert len(packs) == 1 and "evidence verified" in out and "2 run(s)" in out


def test_audit_pack_refuses_bad_input(root: Path) -> None:
    code, out = _run("audit-pack", "--since", "2026-01-03", "--until", "2026-01-01", "--evidence-dir", str(root))
    assert code == 2 and "after period_end" in out
    code, out = _run("audit-pack", "--since", "2026-01-01", "--control", "no-such-control", "--evidence-dir", str(root))
    assert code == 2 and "no-such-control" in out
    code, out = _run("audit-pack", "--since", "2026-01-01", "--account", "ml-platform", "--evidence-dir", str(root))
    assert code == 2 and "has no id in scope.yaml" in out


def test_audit_pack_exits_1_on_tampered_evidence(root: Path) -> None:
    (root / "runs" / MIDDLE / "evidence" / "s3_buckets.parquet").write_bytes(b"edited")
    code, out = _run("audit-pack", "--since", "2026-01-01", "--evidence-dir", str(root))
    assert code == 1 and "verification FAILED" in out
    assert list((root / "audit-packs").glob("*.zip"))  # the pack is still built: nothing is hidden
