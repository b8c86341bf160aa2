"""Policy as data is checked at load: errors name the file, the entry and the field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from complyflow.cli import app
from complyflow.core.config import FRAMEWORKS, ConfigError, load_config

CONTROL: dict[str, Any] = {
    "id": "key-rotation",
    "title": "Keys are rotated",
    "rationale": "Bound the exposure of a leaked key.",
    "policy_clause": {"document": "AI Security Policy", "section": "5.1"},
    "frameworks": {"iso27001": ["A.5.17"], "soc2": ["CC6.1"]},
    "severity": "medium",
    "owner_role": "identity-team",
    "evidence_table": "iam_access_keys",
    "applies_when": "status == 'Active'",
    "rule": {"expectation": "expect_column_values_to_be_between", "column": "age_days", "kwargs": {"max_value": 90}},
    "remediation": "Rotate the key.",
}
EXCEPTION: dict[str, Any] = {
    "id": "EXC-1",
    "control": "key-rotation",
    "resource": "arn:aws:iam::*:user/bob",
    "justification": "Migration in progress.",
    "approver": "ciso@example.com",
    "approval_date": "2026-09-01",
    "expiry_date": "2027-03-01",
}


def write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    """A small, valid config directory, independent of the shipped catalog."""
    root = tmp_path / "configs"
    write(root / "scope.yaml", {"accounts": [{"name": "demo"}], "regions": ["eu-west-1"]})
    write(root / "owners.yaml", {"fallback_owner": "platform-team"})
    write(root / "controls" / "key-rotation.yaml", CONTROL)
    write(root / "controls" / "tls-only.yaml", {**CONTROL, "id": "tls-only", "frameworks": {"soc2": ["CC6.7"]}})
    write(root / "exceptions.yaml", {"review_window_days": 14, "exceptions": [EXCEPTION]})
    return root


def load_error(root: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    return str(caught.value)


def test_minimal_config_loads(minimal: Path) -> None:
    config = load_config(minimal)
    assert [c.id for c in config.controls] == ["key-rotation", "tls-only"]
    assert config.exceptions.review_window_days == 14
    assert [e.id for e in config.exceptions.exceptions] == ["EXC-1"]


def test_shipped_catalog_loads_with_well_formed_framework_references() -> None:
    config = load_config(Path(__file__).resolve().parent.parent / "configs")
    patterns = {
        "iso27001": r"A\.[5-8]\.\d+",
        "iso42001": r"A\.\d+(\.\d+)*",
        "soc2": r"(CC|A|C|PI|P)\d+\.\d+",
        "cis_aws": r"\d+(\.\d+)*",
    }
    assert set(patterns) == set(FRAMEWORKS)
    for control in config.controls:
        assert control.frameworks, f"{control.id}: no framework mapping"
        for framework, refs in control.frameworks.items():
            for ref in refs:
                assert re.fullmatch(patterns[framework], ref), f"{control.id}: {framework} {ref!r}"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"severity": "urgent"}, "severity", "Input should be 'critical'"),
        ({"policy_clause": {"document": "AI Security Policy"}}, "policy_clause.section", "Field required"),
        ({"frameworks": {"nist": ["AC-2"]}}, "frameworks.nist.[key]", "Input should be 'iso27001'"),
        ({"severty": "high"}, "severty", "Extra inputs are not permitted"),
        (
            {"rule": {"expectation": "expect_table_row_count_to_equal", "column": "x"}},
            "rule.expectation",
            "String should match pattern",
        ),
        (
            {"rule": {"expectation": "expect_column_values_to_be_awesome", "column": "x"}},
            "rule",
            "unknown Great Expectations expectation 'expect_column_values_to_be_awesome'",
        ),
    ],
)
def test_malformed_control_names_file_control_and_field(minimal: Path, change: dict, field: str, reason: str) -> None:
    path = minimal / "controls" / "key-rotation.yaml"
    write(path, {**CONTROL, **change})
    message = load_error(minimal)
    assert message.startswith(f"{path}: entry 'key-rotation': invalid")
    assert f"field {field}: " in message
    assert reason in message


def test_control_without_id_is_named_by_its_file(minimal: Path) -> None:
    path = minimal / "controls" / "key-rotation.yaml"
    write(path, {k: v for k, v in CONTROL.items() if k != "id"})
    message = load_error(minimal)
    assert f"{path}: entry 'key-rotation'" in message
    assert "field id: Field required" in message


def test_control_id_must_match_its_file_name(minimal: Path) -> None:
    path = minimal / "controls" / "key-rotation.yaml"
    write(path, {**CONTROL, "id": "other-id"})
    assert load_error(minimal) == f"{path}: control id 'other-id' must match the file name 'key-rotation'"


def test_control_file_that_is_not_yaml(minimal: Path) -> None:
    path = minimal / "controls" / "key-rotation.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    assert load_error(minimal).startswith(f"{path}: not valid YAML")


def test_empty_controls_folder_is_an_error(minimal: Path) -> None:
    for path in (minimal / "controls").glob("*.yaml"):
        path.unlink()
    assert load_error(minimal) == f"{minimal.resolve() / 'controls'}: no controls declared"


@pytest.mark.parametrize("field", ["approver", "justification", "expiry_date", "approval_date", "control", "resource"])
def test_exception_without_a_required_field_is_rejected(minimal: Path, field: str) -> None:
    path = minimal / "exceptions.yaml"
    write(path, {"exceptions": [{k: v for k, v in EXCEPTION.items() if k != field}]})
    message = load_error(minimal)
    assert message.startswith(f"{path}: entry 'EXC-1': invalid")
    assert f"field {field}: Field required" in message


@pytest.mark.parametrize("field", ["approver", "justification"])
def test_exception_with_empty_approver_or_justification_is_rejected(minimal: Path, field: str) -> None:
    write(minimal / "exceptions.yaml", {"exceptions": [{**EXCEPTION, field: ""}]})
    assert f"field {field}: String should have at least 1 character" in load_error(minimal)


def test_exception_expiring_before_its_approval_is_rejected(minimal: Path) -> None:
    path = minimal / "exceptions.yaml"
    write(path, {"exceptions": [{**EXCEPTION, "approval_date": "2026-09-01", "expiry_date": "2026-08-31"}]})
    assert load_error(minimal) == f"{path}: entry 'EXC-1': field expiry_date: before approval_date"


def test_exception_with_an_unparseable_date_is_rejected(minimal: Path) -> None:
    write(minimal / "exceptions.yaml", {"exceptions": [{**EXCEPTION, "expiry_date": "next spring"}]})
    assert "field expiry_date: Input should be a valid date" in load_error(minimal)


def test_exception_for_an_unknown_control_is_rejected(minimal: Path) -> None:
    path = minimal / "exceptions.yaml"
    write(path, {"exceptions": [{**EXCEPTION, "control": "no-such-control"}]})
    assert load_error(minimal) == f"{path}: entry 'EXC-1': field control: unknown control 'no-such-control'"


def test_exception_without_id_is_named_by_its_position(minimal: Path) -> None:
    path = minimal / "exceptions.yaml"
    write(path, {"exceptions": [EXCEPTION, {k: v for k, v in EXCEPTION.items() if k != "id"}]})
    message = load_error(minimal)
    assert message.startswith(f"{path}: entry '#2': invalid")
    assert "field id: Field required" in message


def test_exceptions_must_be_a_list(minimal: Path) -> None:
    path = minimal / "exceptions.yaml"
    write(path, {"exceptions": EXCEPTION})
    assert load_error(minimal) == f"{path}: field exceptions: must be a list"


def test_missing_exceptions_file_means_no_exceptions(minimal: Path) -> None:
    (minimal / "exceptions.yaml").unlink()
    assert load_config(minimal).exceptions.exceptions == []


# Blank text, duplicate ids, a negative window and unknown keys are rejected too (fixed in config.py).
@pytest.mark.parametrize("field", ["approver", "justification"])
def test_exception_with_blank_approver_or_justification_is_rejected(minimal: Path, field: str) -> None:
    write(minimal / "exceptions.yaml", {"exceptions": [{**EXCEPTION, field: "   "}]})
    assert f"field {field}: String should have at least 1 character" in load_error(minimal)


def test_duplicate_exception_ids_are_rejected(minimal: Path) -> None:
    write(minimal / "exceptions.yaml", {"exceptions": [EXCEPTION, {**EXCEPTION, "resource": "*"}]})
    path = minimal / "exceptions.yaml"
    assert load_error(minimal) == f"{path}: entry 'EXC-1': field id: 'EXC-1' is used by another exception"


def test_negative_review_window_is_a_config_error(minimal: Path) -> None:
    write(minimal / "exceptions.yaml", {"review_window_days": -1, "exceptions": [EXCEPTION]})
    assert "field review_window_days: Input should be greater than or equal to 0" in load_error(minimal)


def test_misspelt_exceptions_key_is_rejected(minimal: Path) -> None:
    write(minimal / "exceptions.yaml", {"exception": [EXCEPTION]})
    assert "field exception: Extra inputs are not permitted" in load_error(minimal)


def test_controls_command_filters_by_framework(minimal: Path) -> None:
    runner = CliRunner()
    iso = runner.invoke(app, ["controls", "--framework", "iso27001", "--config", str(minimal)], env={"COLUMNS": "250"})
    assert iso.exit_code == 0, iso.output
    assert "key-rotation" in iso.output and "tls-only" not in iso.output
    soc2 = runner.invoke(app, ["controls", "--framework", "soc2", "--config", str(minimal)], env={"COLUMNS": "250"})
    assert "key-rotation" in soc2.output and "tls-only" in soc2.output
    unknown = runner.invoke(app, ["controls", "--framework", "nist", "--config", str(minimal)])
    assert unknown.exit_code == 2
    assert "unknown framework 'nist'" in unknown.output
