"""The model inventory (`configs/models.yaml`): what each model is, who owns it, where its drift evidence lives.

The inventory is policy data, checked by a schema at load like every other config file. An entry may
lack its owner, purpose or status, or any governance record (tasks/drift/governance.py): that is a
finding (the inventory is incomplete), not a config error; a malformed value is a config error.
Thresholds have no defaults in code: `defaults` must state them, a model or one of its features may
tighten or relax them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from complyflow.core.config import ConfigError, parse_model, read_yaml
from tasks.drift.governance import Governance, GovernanceDefaults

MODELS_FILE = "models.yaml"
LifecycleStatus = Literal["development", "staging", "production", "retired"]
RiskTier = Literal["high", "medium", "low"]
ThresholdName = Literal["psi_max", "ks_pvalue_min", "constraint_violations_max"]
#: The fields policy 4.1 requires of every inventory entry.
REQUIRED_FIELDS = ("owner", "purpose", "status")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    """Drift thresholds: PSI above `psi_max`, a KS p-value below `ks_pvalue_min`, more Model Monitor
    constraint violations than `constraint_violations_max` are violations."""

    psi_max: float | None = Field(default=None, ge=0)
    ks_pvalue_min: float | None = Field(default=None, gt=0, lt=1)
    constraint_violations_max: int | None = Field(default=None, ge=0)


class DefaultThresholds(Thresholds):
    psi_max: float = Field(ge=0)
    ks_pvalue_min: float = Field(gt=0, lt=1)
    constraint_violations_max: int = Field(ge=0)


class ModelThresholds(Thresholds):
    features: dict[str, Thresholds] = Field(default_factory=dict)  # per-feature overrides


class Deployment(_Strict):
    """Where the model serves: a SageMaker endpoint and/or model, optionally pinned to an account and region."""

    sagemaker_endpoint: str | None = None
    sagemaker_model: str | None = None
    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    account: str | None = Field(default=None, pattern=r"^\d{12}$")

    @model_validator(mode="after")
    def _names_something(self) -> Deployment:
        if not (self.sagemaker_endpoint or self.sagemaker_model):
            raise ValueError("give sagemaker_endpoint and/or sagemaker_model (or drop 'deployment')")
        return self

    def matches(self, account: str, region: str, endpoint: str, models: list[str]) -> bool:
        """True when this deployment is the given endpoint (by name, or by a model it serves)."""
        if self.account and self.account != account:
            return False
        if self.region and self.region != region:
            return False
        if self.sagemaker_endpoint and self.sagemaker_endpoint.lower() == endpoint.lower():
            return True
        return bool(self.sagemaker_model) and self.sagemaker_model.lower() in {m.lower() for m in models}


class DriftSources(_Strict):
    """Where a model's drift evidence lives: S3 URIs (s3://bucket/key) or paths relative to the config dir."""

    model_monitor: str | None = None  # Model Monitor output prefix (constraint_violations.json, statistics.json)
    evidently: str | None = None  # an Evidently JSON report, or a prefix/folder holding them (newest read)
    reference: str | None = None  # reference dataset (.parquet or .csv) for complyflow's own PSI / KS
    current: str | None = None  # current dataset, compared with the reference
    features: list[str] | None = None  # default: every column of the reference except `exclude`
    categorical: list[str] = Field(default_factory=list)  # numeric-looking columns to treat as categories
    exclude: list[str] = Field(default_factory=list)  # ids, labels, timestamps

    @model_validator(mode="after")
    def _datasets_come_in_pairs(self) -> DriftSources:
        if bool(self.reference) != bool(self.current):
            raise ValueError("reference and current datasets go together: give both or neither")
        if not (self.model_monitor or self.evidently or self.reference):
            raise ValueError("name at least one source: model_monitor, evidently, or reference + current")
        return self


class ModelEntry(_Strict):
    """One model of the inventory (AI Security Policy 4.1: purpose, owner, current status)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    purpose: str | None = None
    owner: str | None = None
    status: LifecycleStatus | None = None
    risk_tier: RiskTier | None = None
    deployment: Deployment | None = None
    drift: DriftSources | None = None
    thresholds: ModelThresholds = Field(default_factory=ModelThresholds)
    quality_floors: dict[str, float] = Field(default_factory=dict)  # declared here: every run must see them
    governance: Governance | None = None  # risk assessment, PIA, fairness, approval, documentation (2.2-7.4)

    def missing_fields(self) -> list[str]:
        """Required inventory fields that are absent or blank."""
        return [name for name in REQUIRED_FIELDS if not str(getattr(self, name) or "").strip()]


class Defaults(_Strict):
    thresholds: DefaultThresholds
    quality_floors: dict[str, float] = Field(default_factory=dict)  # apply where a report carries the metric
    psi_bins: int = Field(ge=2, le=100)
    governance: GovernanceDefaults = Field(default_factory=GovernanceDefaults)  # maximum ages of the records


class Inventory(_Strict):
    defaults: Defaults
    models: list[ModelEntry] = Field(default_factory=list)
    #: demo inventories only: governance dates may be written `today-30d` and never age
    relative_dates: bool = False

    def threshold(self, model: ModelEntry, feature: str, name: ThresholdName) -> float:
        """The threshold for one feature: its override, else the model's, else the default."""
        override = model.thresholds.features.get(feature)
        for source in (override, model.thresholds):
            value = getattr(source, name) if source is not None else None
            if value is not None:
                return float(value)
        return float(getattr(self.defaults.thresholds, name))

    def quality_floors(self, model: ModelEntry) -> dict[str, float]:
        return {**normalise_floors(self.defaults.quality_floors), **normalise_floors(model.quality_floors)}

    def for_endpoint(self, account: str, region: str, endpoint: str, models: list[str]) -> ModelEntry | None:
        for entry in self.models:
            if entry.deployment and entry.deployment.matches(account, region, endpoint, models):
                return entry
        return None


def metric_name(name: str) -> str:
    """One spelling per quality metric across tools: RocAuc, roc_auc and auc are all `auc`."""
    slug = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip()).lower().replace("-", "_").replace(" ", "_")
    return {"roc_auc": "auc", "f1_score": "f1"}.get(slug, slug)


def normalise_floors(floors: dict[str, float]) -> dict[str, float]:
    return {metric_name(k): float(v) for k, v in floors.items()}


def load_inventory(config_dir: Path | None) -> Inventory:
    """Load and check `models.yaml`; a missing or malformed file is a ConfigError naming file, entry and field."""
    if config_dir is None:
        raise ConfigError(f"no config directory given: cannot read {MODELS_FILE}")
    path = Path(config_dir) / MODELS_FILE
    data: Any = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'defaults' and 'models'")
    relative = data.get("relative_dates", False)
    if not isinstance(relative, bool):
        raise ConfigError(f"{path}: field relative_dates: expected true or false, got {relative!r}")
    raw_models = data.get("models") or []
    if not isinstance(raw_models, list):
        raise ConfigError(f"{path}: 'models' must be a list")
    models = []
    for index, raw in enumerate(raw_models):
        name = str(raw.get("id", f"#{index + 1}")) if isinstance(raw, dict) else f"#{index + 1}"
        entry = parse_model(ModelEntry, raw, path, name)
        relative_found = entry.governance.relative_dates() if entry.governance and not relative else []
        if relative_found:
            field, value = relative_found[0]
            raise ConfigError(
                f"{path}: entry {name!r}: invalid\n  field {field}: relative date {str(value)!r} is only "
                "allowed with relative_dates: true (demo inventories); write a calendar date YYYY-MM-DD"
            )
        models.append(entry)
    ids = [m.id for m in models]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"{path}: duplicate model id(s): {', '.join(duplicates)}")
    defaults = parse_model(Defaults, data.get("defaults"), path, "defaults")
    return Inventory(defaults=defaults, models=models, relative_dates=relative)
