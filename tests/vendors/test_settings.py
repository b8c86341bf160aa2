"""`configs/vendors.yaml`: the register source and the per-tier review policy are checked at load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from complyflow.core.config import ConfigError
from tasks.vendors.settings import DynamoDBSource, load_settings
from tests.vendors.conftest import CONFIGS


def test_the_shipped_settings_are_at_least_annual() -> None:
    settings = load_settings(CONFIGS)
    assert max(settings.review_intervals_days.values()) <= 365
    assert settings.required_for("critical") == ["ISO 27001", "SOC 2 Type II"]
    assert settings.required_for("low") == []


def test_a_dynamodb_source(vendor_config: Callable[..., Path]) -> None:
    folder = vendor_config(source={"kind": "dynamodb", "table": "vendor-register", "region": "eu-west-1"})
    source = load_settings(folder).source
    assert isinstance(source, DynamoDBSource) and source.region == "eu-west-1"
    assert source.relative_dates is False


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"review_intervals_days": {"critical": 180, "high": 365, "medium": 365, "low": 400}},
            r"field review_intervals_days.low: Input should be less than or equal to 365",
        ),
        ({"review_intervals_days": {"critical": 180, "high": 365}}, r"missing tier\(s\) medium, low"),
        ({"source": {"kind": "sharepoint"}}, r"field source: Input tag 'sharepoint' found using 'kind' does not match"),
        ({"source": {"kind": "file", "path": "vendors.xlsx"}}, r"field source.file.path: String should match"),
        ({"source": {"kind": "dynamodb", "table": "register"}}, r"field source.dynamodb.region: Field required"),
        ({"required_certifications": {"platinum": ["ISO 27001"]}}, r"field required_certifications.platinum"),
    ],
)
def test_bad_settings_name_the_field(vendor_config: Callable[..., Path], settings: dict, message: str) -> None:
    folder = vendor_config(rows=[], **settings)
    with pytest.raises(ConfigError, match=message) as error:
        load_settings(folder)
    assert str(error.value).startswith(str(folder / "vendors.yaml"))


def test_inline_source_needs_rows_and_other_sources_must_not_have_them(vendor_config: Callable[..., Path]) -> None:
    with pytest.raises(ConfigError, match="field vendors: required when source.kind is inline"):
        load_settings(vendor_config())
    folder = vendor_config(rows=[], source={"kind": "file", "path": "register.csv"})
    with pytest.raises(ConfigError, match="rows are read from the file source"):
        load_settings(folder)


def test_a_missing_settings_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="vendors.yaml: file not found"):
        load_settings(tmp_path)
