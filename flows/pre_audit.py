"""Pre-audit run: the selected controls, collected fresh, then an audit pack of the period for the auditor."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from complyflow.core.config import Config, FrameworkName, load_config
from complyflow.core.deploy_config import load_evidence_store_config
from complyflow.core.text import md_code
from flows.pipeline import run_compliance, run_name
from tasks.audit_pack import AuditPack, PackRequest, build_audit_pack, resolve_period
from tasks.evidence import EvidenceStore, open_store

AUDIT_PACK_KEY = "audit-pack"
AUDIT_PACK_INDEX_KEY = "audit-pack-index"


class EvidenceVerificationError(RuntimeError):
    """The stored evidence of the period does not match its manifests or chain."""


@task(
    name="build-audit-pack",
    task_run_name="audit-pack-{request.period_start}-{request.period_end}",
    retries=1,
    retry_delay_seconds=10,
    timeout_seconds=1800,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def audit_pack_task(store: EvidenceStore, config: Config, request: PackRequest, retention_days: int) -> AuditPack:
    from tasks.signing import run_signer

    key = run_signer(config.directory).public_key_pem()  # the pack records whether every signature holds
    return build_audit_pack(store, config, request, retention_days=retention_days, public_key_pem=key)


def download_hint(url: str) -> str:
    """How a person gets the pack: a path on the worker's disk, or an `aws s3 cp` (never a signed URL)."""
    if url.startswith("s3://"):
        return f"`aws s3 cp {url} .`"
    return f"`{Path(unquote(url.removeprefix('file://')))}` on the worker's disk"


def publish_pack_artifacts(pack: AuditPack, request: PackRequest) -> None:
    """A link artifact to the pack and a markdown index; stable keys keep their history across runs."""
    create_link_artifact(
        key=AUDIT_PACK_KEY,
        link=pack.url,
        link_text=pack.path.name,
        description=f"Audit pack {request.period_start} – {request.period_end}",
    )
    verdict = "verified" if pack.verification.ok else f"**FAILED** ({len(pack.verification.issues)} issue(s))"
    lines = [
        f"# Audit pack {request.period_start} – {request.period_end}",
        "",
        f"- download: {download_hint(pack.url)}",
        f"- SHA-256 of the zip: `{pack.sha256}`",
        f"- runs: {len(pack.runs)} ({pack.runs[0]} … {pack.runs[-1]})",
        f"- files: {pack.files}",
        f"- evidence: {verdict}",
        "- newest findings: " + (", ".join(f"{k} {v}" for k, v in sorted(pack.findings.items())) or "none"),
        "",
    ]
    lines += [f"- {md_code(str(issue))}" for issue in pack.verification.issues[:50]]
    create_markdown_artifact(
        key=AUDIT_PACK_INDEX_KEY,
        markdown="\n".join(lines),
        description=f"Audit pack index {request.period_start} – {request.period_end}",
    )


@flow(
    name="pre-audit",
    flow_run_name=run_name("pre-audit"),
    log_prints=True,
    task_runner=ThreadPoolTaskRunner(max_workers=8),
)
def pre_audit(
    frameworks: list[FrameworkName] | None = None,
    controls: list[str] | None = None,
    accounts: list[str] | None = None,
    period_start: date | None = None,
    period_end: date | None = None,
    config_dir: str | None = None,
    evidence_dir: str | None = None,
) -> dict[str, Any]:
    """Run the selected controls fresh, then build an audit pack of the period and link it.

    Args:
        frameworks: Only controls mapped to these frameworks (empty: every framework).
        controls: Only these control ids (empty: every enabled control).
        accounts: Only these accounts, by name or id from scope.yaml (empty: every account).
        period_start: First day of the audit period (default: period_end minus the configured default period).
        period_end: Last day of the audit period (default: today, UTC).
        config_dir: Config directory (default: COMPLYFLOW_CONFIG_DIR, else the shipped configs/).
        evidence_dir: Evidence root (default: COMPLYFLOW_EVIDENCE_DIR, else ./evidence).
    """
    logger = get_run_logger()
    settings = load_evidence_store_config(config_dir)
    start, end = resolve_period(
        period_start, period_end, settings.audit_pack.default_period_days, datetime.now(UTC).date()
    )
    result = run_compliance(
        flow_name="pre-audit",
        config_dir=config_dir,
        evidence_dir=evidence_dir,
        control_ids=controls,
        frameworks=list(frameworks) if frameworks else None,
        accounts=accounts,
    )
    request = PackRequest(
        period_start=start,
        period_end=end,
        control_ids=tuple(result["scope"]["controls"]),
        account_ids=tuple(result["scope"]["accounts"]),
        include_runs=(result["run_id"],),
    )
    store = open_store(config_dir, evidence_dir, settings)
    pack = audit_pack_task(store, load_config(config_dir), request, settings.retention_days)
    publish_pack_artifacts(pack, request)
    logger.info("audit pack %s: %d runs, %d files, sha256 %s", pack.url, len(pack.runs), pack.files, pack.sha256)
    result["audit_pack"] = pack.to_dict()
    if not pack.verification.ok:
        raise EvidenceVerificationError(
            f"the stored evidence of {start} – {end} failed verification ({len(pack.verification.issues)} issue(s), "
            f"listed in the pack's verification.json and the {AUDIT_PACK_INDEX_KEY} artifact): "
            + "; ".join(str(i) for i in pack.verification.issues[:5])
        )
    return result


if __name__ == "__main__":
    pre_audit()
