"""Deployment and evidence-store settings, checked at load like every other policy file.

`configs/deployments.yaml` is the single source of the schedules, work pool and tags. Prefect's
`prefect.yaml` cannot include another file, so it is *rendered* from this config
(`python -m complyflow.core.deploy_config --write`) and a test fails when the two drift apart;
`complyflow serve` reads the config directly. `configs/evidence-store.yaml` says where sealed runs
live (local directory or S3 bucket), how long they are kept, and the default audit period.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import zoneinfo
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from complyflow.core.config import DEFAULT_CONFIG_DIR, ConfigError, parse_model, read_yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFECT_YAML = REPO_ROOT / "prefect.yaml"
DEPLOYMENTS_FILE = "deployments.yaml"
EVIDENCE_STORE_FILE = "evidence-store.yaml"

#: Deployment name → flow entrypoint. Fixed by the code, so the config cannot point at a missing flow.
ENTRYPOINTS: dict[str, str] = {
    "nightly-compliance": "flows/nightly.py:nightly_compliance",
    "pre-audit": "flows/pre_audit.py:pre_audit",
    "drift-monitoring": "flows/drift.py:drift_monitoring",
    "vendor-reviews": "flows/vendors.py:vendor_reviews",
    "collect-account": "flows/collect_account.py:collect_account",  # scope.yaml execution.mode: deployments
    "exception-request": "flows/exception_request.py:exception_request",  # suspends for the approver's decision
    "access-review": "flows/access_review.py:access_review",  # a campaign, and one suspended review per owner
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- deployments ---------------------------------------------------------------------------------


class ScheduleSpec(_Strict):
    """A cron schedule in an IANA timezone.

    Checked without importing Prefect (a second of start-up the config check cannot afford): five fields
    parsed by cronsim, no random/hashed fields (Prefect refuses them), a timezone from the IANA database.
    tests/integration/test_prefect_yaml.py also hands every configured schedule to Prefect's own model.
    """

    cron: str
    timezone: str
    active: bool = True

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from cronsim import CronSim, CronSimError

        fields = value.split()
        if len(fields) != 5 or any(f.casefold() in ("r", "h") for f in fields):
            raise ValueError(f"Invalid cron string {value!r}: five fields, e.g. '0 2 * * *'")
        try:
            CronSim(value, datetime(2026, 1, 1))
        except CronSimError as exc:
            raise ValueError(f"Invalid cron string {value!r}: {exc}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise ValueError(f"Invalid timezone {value!r}: an IANA name such as Europe/London or UTC")
        return value


class DeploymentSpec(_Strict):
    description: str | None = None
    schedule: ScheduleSpec | None = None  # None: on demand only
    tags: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    concurrency_limit: int | None = Field(default=None, ge=1)


class WorkPoolSpec(_Strict):
    name: str = Field(default="complyflow", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    type: str = "process"
    job_variables: dict[str, Any] = Field(default_factory=dict)


class DeploymentsConfig(_Strict):
    work_pool: WorkPoolSpec = Field(default_factory=WorkPoolSpec)
    deployments: dict[str, DeploymentSpec] = Field(min_length=1)

    @field_validator("deployments")
    @classmethod
    def _known_names(cls, deployments: dict[str, DeploymentSpec]) -> dict[str, DeploymentSpec]:
        unknown = set(deployments) - set(ENTRYPOINTS)
        if unknown:
            raise ValueError(f"unknown deployment(s) {', '.join(sorted(unknown))}; known: {', '.join(ENTRYPOINTS)}")
        return deployments


# --- evidence store ------------------------------------------------------------------------------


class S3StoreSpec(_Strict):
    """An S3 bucket for sealed runs: versioning required, Object Lock retention used when the bucket has it."""

    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    prefix: str = "complyflow/"
    region: str | None = None
    require_versioning: bool = True
    object_lock: Literal["auto", "required", "off"] = "auto"
    object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    kms_key_id: str | None = None  # SSE-KMS key for every object; None: the bucket's default encryption

    @field_validator("prefix")
    @classmethod
    def _prefix_is_a_folder(cls, prefix: str) -> str:
        prefix = prefix.strip("/")
        if prefix and not re.fullmatch(r"[A-Za-z0-9!_.*'()/-]+", prefix):
            raise ValueError(f"{prefix!r} is not a safe S3 key prefix")
        return f"{prefix}/" if prefix else ""


#: Where the local signing key lives unless `signing.key_file` says otherwise (created on first seal).
DEFAULT_SIGNING_KEY_FILE = "~/.config/complyflow/evidence-signing-key.pem"


class SigningSpec(_Strict):
    """How each manifest is signed when it is sealed: an AWS KMS asymmetric key, or a local Ed25519 key file.

    KMS in production: the private key never leaves KMS, so whoever controls the evidence store cannot
    re-sign a rewritten chain. The local key file is for the demo and tests (whoever can read it can sign).
    """

    kms_key_id: str | None = None  # key id, ARN or alias of an asymmetric SIGN_VERIFY key (ECC or RSA)
    kms_region: str | None = None  # default: the S3 store's region, else the SDK's
    key_file: str | None = None  # PEM Ed25519 private key; relative paths are relative to the config dir
    create_key_file: bool = True  # create the local key on first use (demo); false: a missing file is an error

    @model_validator(mode="after")
    def _one_signer(self) -> SigningSpec:
        if self.kms_key_id and self.key_file:
            raise ValueError("give either kms_key_id (production) or key_file (local), not both")
        return self

    @property
    def local_key_path(self) -> str:
        return self.key_file or os.environ.get("COMPLYFLOW_SIGNING_KEY_FILE") or DEFAULT_SIGNING_KEY_FILE


class AuditPackSpec(_Strict):
    default_period_days: int = Field(default=90, ge=1, le=3660)


class EvidenceStoreConfig(_Strict):
    backend: Literal["local", "s3"] = "local"
    s3: S3StoreSpec | None = None
    retention_days: int = Field(default=400, ge=1)
    signing: SigningSpec = Field(default_factory=SigningSpec)
    audit_pack: AuditPackSpec = Field(default_factory=AuditPackSpec)

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> EvidenceStoreConfig:
        if self.backend == "s3" and self.s3 is None:
            raise ValueError("backend 's3' needs an 's3:' section with at least 'bucket'")
        return self


# --- loading and rendering -----------------------------------------------------------------------


def _folder(directory: str | Path | None) -> Path:
    folder = Path(directory or os.environ.get("COMPLYFLOW_CONFIG_DIR") or DEFAULT_CONFIG_DIR).resolve()
    if not folder.is_dir():
        raise ConfigError(f"{folder}: config directory not found")
    return folder


def load_deployments_config(directory: str | Path | None = None) -> DeploymentsConfig:
    path = _folder(directory) / DEPLOYMENTS_FILE
    return parse_model(DeploymentsConfig, read_yaml(path), path)


def load_evidence_store_config(directory: str | Path | None = None) -> EvidenceStoreConfig:
    """The evidence-store settings; without the file, a local store with default retention."""
    path = _folder(directory) / EVIDENCE_STORE_FILE
    return parse_model(EvidenceStoreConfig, read_yaml(path) if path.exists() else {}, path)


HEADER = """\
# GENERATED from configs/deployments.yaml by `python -m complyflow.core.deploy_config --write`.
# Edit the config, not this file: tests/integration/test_prefect_yaml.py fails when they differ.
#
# Deploy from the repository root:  prefect deploy --all
# The build step records the directory you deploy from; the pull step makes every flow run start
# there, so a process worker on this machine runs this checkout. For Kubernetes or ECS see
# docs/deployments.md.
"""


def render_prefect_yaml(config: DeploymentsConfig) -> str:
    """prefect.yaml for these deployments: one process work pool, code pulled from the deploying checkout."""
    deployments = []
    for name, spec in config.deployments.items():
        schedule = spec.schedule
        deployments.append(
            {
                "name": name,
                "entrypoint": ENTRYPOINTS[name],
                "description": spec.description,
                "tags": list(spec.tags),
                "parameters": dict(spec.parameters),
                "concurrency_limit": spec.concurrency_limit,
                "work_pool": {"name": config.work_pool.name, "job_variables": dict(config.work_pool.job_variables)},
                "schedules": [schedule.model_dump()] if schedule else [],
            }
        )
    document = {
        "name": "complyflow",
        "build": [{"prefect.deployments.steps.run_shell_script": {"id": "repo-dir", "script": "pwd"}}],
        "push": None,
        "pull": [{"prefect.deployments.steps.set_working_directory": {"directory": "{{ repo-dir.stdout }}"}}],
        "deployments": deployments,
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render prefect.yaml from configs/deployments.yaml.")
    parser.add_argument("--config", default=None, help="config directory (default: configs/)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help=f"write {PREFECT_YAML.name}")
    action.add_argument("--check", action="store_true", help="exit 1 when prefect.yaml is out of date")
    args = parser.parse_args(argv)
    text = render_prefect_yaml(load_deployments_config(args.config))
    if args.write:
        PREFECT_YAML.write_text(text, encoding="utf-8")
        print(f"wrote {PREFECT_YAML}")
    elif args.check:
        current = PREFECT_YAML.read_text(encoding="utf-8") if PREFECT_YAML.exists() else ""
        if current != text:
            print(
                f"{PREFECT_YAML} is out of date: run python -m complyflow.core.deploy_config --write", file=sys.stderr
            )
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
