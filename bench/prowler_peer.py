"""Prowler on the same moto estate, with the checks equivalent to complyflow's 18 AWS controls.

Prowler lives in its own virtualenv (bench/.venv-prowler, git-ignored), pinned, installed on first use
with uv (pip's resolver takes tens of minutes on Prowler's pins). It reaches moto the same way
complyflow does: boto3 honours AWS_ENDPOINT_URL. Thresholds are set to ours through a copy of
Prowler's own config file, so both tools judge the same facts.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from bench.estate import REGIONS
from bench.moto_counter import CallCounter
from bench.process import run_measured
from bench.report import by_operation, service_table, table
from complyflow.demo import FAKE_CREDENTIALS

PROWLER_VERSION = "5.46.0"
UV_VERSION = "0.13.9"
VENV = Path(__file__).resolve().parent / ".venv-prowler"

#: complyflow control -> the Prowler check that judges the same thing.
CHECKS = {
    "iam-user-console-mfa": "iam_user_mfa_enabled_console_access",
    "iam-access-key-rotation": "iam_rotate_access_key_90_days",
    "iam-access-key-unused": "iam_user_accesskey_unused",
    "iam-password-unused": "iam_user_console_access_unused",
    "iam-root-mfa": "iam_root_mfa_enabled",
    "iam-user-no-admin-policy": "iam_user_administrator_access_policy",
    "s3-bucket-default-encryption": "s3_bucket_default_encryption",
    "s3-bucket-sse-kms": "s3_bucket_kms_encryption",
    "s3-bucket-tls-only": "s3_bucket_secure_transport_policy",
    "ec2-ebs-default-encryption": "ec2_ebs_default_encryption",
    "rds-storage-encrypted": "rds_instance_storage_encrypted",
    "dynamodb-cmk-encryption": "dynamodb_tables_kms_cmk_encryption_enabled",
    "sagemaker-notebook-kms": "sagemaker_notebook_instance_encryption_enabled",
    "kms-key-rotation": "kms_cmk_rotation_enabled",
    "logs-retention-365": "cloudwatch_log_group_retention_policy_specific_days_enabled",
    # Prowler judges never-expiring groups in the same check; complyflow has a control of their own
    "logs-retention-policy-set": "cloudwatch_log_group_retention_policy_specific_days_enabled",
    "cloudtrail-multi-region": "cloudtrail_multi_region_enabled",
    "cloudtrail-log-file-validation": "cloudtrail_log_file_validation_enabled",
    "cloudtrail-region-coverage": "cloudtrail_multi_region_enabled",  # Prowler reports coverage per region
}
#: Our thresholds, written over Prowler's defaults (45 days for unused keys and console access).
THRESHOLDS = {"max_unused_access_keys_days": 90, "max_console_access_days": 90, "log_group_retention_days": 365}


def prowler_bin() -> Path:
    """The pinned Prowler, installed into its own virtualenv on first use."""
    binary = VENV / "bin" / "prowler"
    if binary.exists():
        return binary
    print(f"installing prowler {PROWLER_VERSION} into {VENV} (once; a few minutes)...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", f"uv=={UV_VERSION}"], check=True)
    subprocess.run(
        [
            str(VENV / "bin" / "uv"),
            "pip",
            "install",
            "-q",
            "--python",
            str(VENV / "bin" / "python"),
            f"prowler=={PROWLER_VERSION}",
        ],
        check=True,
    )
    return binary


def _config_file(work: Path) -> Path:
    source = next((VENV / "lib").glob("python3*/site-packages/prowler/config/config.yaml"))
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    config.setdefault("aws", {}).update(THRESHOLDS)
    target = work / "prowler-config.yaml"
    target.write_text(yaml.safe_dump(config), encoding="utf-8")
    return target


def _findings(output: Path) -> dict[str, Counter[str]]:
    """check id -> status counts, from Prowler's CSV (semicolon separated)."""
    results: dict[str, Counter[str]] = {}
    for path in output.glob("*.csv"):
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                results.setdefault(row.get("CHECK_ID", "?"), Counter())[row.get("STATUS", "?")] += 1
    return results


def run_prowler(endpoint: str, work: Path) -> tuple[Any, dict[str, Counter[str]]]:
    output = work / "prowler-output"
    checks = sorted(set(CHECKS.values()))
    cmd = [
        str(prowler_bin()),
        "aws",
        "--checks",
        *checks,
        "--filter-region",
        *REGIONS,
        "--config-file",
        str(_config_file(work)),
        "--output-formats",
        "csv",
        "--output-directory",
        str(output),
        "--no-banner",
        "--ignore-exit-code-3",
        "--log-level",
        "ERROR",
        "--scan-unused-services",
    ]  # else EBS default encryption is judged only where volumes exist
    env = {"PATH": f"{VENV / 'bin'}:/usr/bin:/bin", "HOME": str(work), **FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}
    measured = run_measured(cmd, env, cwd=str(work))
    return measured, _findings(output)


def compare_prowler(
    endpoint: str,
    counter: CallCounter,
    work: Path,
    complyflow_walls: dict[str, float],
    complyflow_findings: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """Run Prowler, print its time, calls and findings per check, and its wall time over each complyflow run's."""
    prowler_bin()
    counter.phase = "prowler"
    measured, findings = run_prowler(endpoint, work)
    counter.phase = "idle"
    calls = by_operation(counter.calls("prowler"))
    errors = by_operation(counter.errors("prowler"))
    ratios = {mode: round(measured.wall / wall, 2) for mode, wall in complyflow_walls.items() if wall}
    print(
        f"\nprowler {PROWLER_VERSION}: exit {measured.returncode}, wall {measured.wall:.2f} s, CPU "
        f"{measured.cpu_seconds:.1f} s, peak RSS {measured.peak_rss_mb:.0f} MB; load average {measured.load_avg:.2f}"
    )
    rows = []
    for control, check in CHECKS.items():
        counts = findings.get(check, Counter())
        ours = (complyflow_findings or {}).get(control, {})
        rows.append(
            (control, ours.get("PASS", 0), ours.get("FAIL", 0), check, counts.get("PASS", 0), counts.get("FAIL", 0))
        )
    print(table(["complyflow control", "PASS", "FAIL", "prowler check", "PASS", "FAIL"], rows))
    print("AWS API calls by Prowler (counted at the moto server):")
    print(service_table(calls))
    if errors:
        print("calls moto answered with an error: " + ", ".join(f"{k} {v}" for k, v in sorted(errors.items())))
    for mode, ratio in ratios.items():
        print(f"wall time prowler / complyflow (Prefect API {mode}): {ratio:.2f}x (goal >= 4x at N=20)")
    return {
        "version": PROWLER_VERSION,
        "returncode": measured.returncode,
        "wall_seconds": round(measured.wall, 2),
        "cpu_seconds": round(measured.cpu_seconds, 2),
        "peak_rss_mb": round(measured.peak_rss_mb, 1),
        "load_avg_1m_at_end": round(measured.load_avg, 2),
        "calls_total": sum(calls.values()),
        "calls": dict(sorted(calls.items())),
        "call_errors": dict(sorted(errors.items())),
        "findings": {k: dict(v) for k, v in sorted(findings.items())},
        "wall_ratio": ratios,
        "output_tail": (measured.stdout[-1500:] + measured.stderr[-1500:]) if measured.returncode else "",
    }
