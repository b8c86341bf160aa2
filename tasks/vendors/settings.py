"""`configs/vendors.yaml`: where the register lives and the review policy per risk tier.

The register itself can sit in the same file (`source.kind: inline`), in a CSV or YAML file next to
it, in a DynamoDB table or in an S3 object; the policy (maximum review interval per tier, required
certifications per tier) stays here, so a reviewer reads the rules in one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from complyflow.core.config import ConfigError, parse_model, read_yaml

SETTINGS_FILE = "vendors.yaml"
TIERS = ("critical", "high", "medium", "low")
Tier = Literal["critical", "high", "medium", "low"]


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: demo registers only: accept `today`, `today+30d`, `today-400d` (a real register must age)
    relative_dates: bool = False
    #: folder (relative to the config dir) of per-vendor answer CSVs `<vendor id>.csv`; None: no such files
    answers_dir: str | None = None


class InlineSource(_Source):
    kind: Literal["inline"]


class FileSource(_Source):
    kind: Literal["file"]
    path: str = Field(pattern=r"(?i)\.(csv|ya?ml)$")  # relative to the config directory


class DynamoDBSource(_Source):
    kind: Literal["dynamodb"]
    table: str = Field(min_length=3)
    region: str


class S3Source(_Source):
    kind: Literal["s3"]
    bucket: str = Field(min_length=3)
    key: str = Field(pattern=r"(?i)\.(csv|ya?ml)$")
    region: str


Source = Annotated[InlineSource | FileSource | DynamoDBSource | S3Source, Field(discriminator="kind")]


class VendorSettings(BaseModel):
    """The whole of `vendors.yaml` except the inline rows (checked row by row, so one bad row stays one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Source
    #: days allowed since the last assessment, per tier; the policy asks for at least annual reviews
    review_intervals_days: dict[Tier, Annotated[int, Field(ge=1, le=365)]]
    required_certifications: dict[Tier, list[str]] = Field(default_factory=dict)
    vendors: list[Any] | None = None

    @field_validator("review_intervals_days")
    @classmethod
    def _every_tier(cls, value: dict[str, int]) -> dict[str, int]:
        missing = [t for t in TIERS if t not in value]
        if missing:
            raise ValueError(f"missing tier(s) {', '.join(missing)}: every tier needs a maximum review interval")
        return value

    def required_for(self, tier: str) -> list[str]:
        return list(self.required_certifications.get(tier, []))  # type: ignore[call-overload]


def load_settings(config_dir: Path) -> VendorSettings:
    path = config_dir / SETTINGS_FILE
    settings = parse_model(VendorSettings, read_yaml(path), path)
    inline = settings.source.kind == "inline"
    if inline and settings.vendors is None:
        raise ConfigError(f"{path}: field vendors: required when source.kind is inline (the register rows)")
    if not inline and settings.vendors is not None:
        raise ConfigError(
            f"{path}: field vendors: rows are read from the {settings.source.kind} source; "
            "remove them here or set source.kind: inline"
        )
    return settings
