"""`complyflow check`: every config file validated before any AWS call; errors name file, entry and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from complyflow.cli import app
from tests.support.configs import edit

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
#: One control per file: counted from the folder, so a branch adding controls does not edit this test.
# One YAML file per control, plus the controls each recurring.yaml task yields (a task and its reminder; the
# training task also its completion rate).
RECURRING_TASKS = yaml.safe_load((CONFIGS / "recurring.yaml").read_text())["tasks"]
SHIPPED_CONTROLS = sum(1 for p in (CONFIGS / "controls").iterdir() if p.suffix in (".yaml", ".yml")) + sum(
    3 if "completion" in t else 2 for t in RECURRING_TASKS
)
runner = CliRunner()


@pytest.fixture
def configs(config_dir: Path) -> Path:
    """The writable copy of the shipped configs (tests/conftest.py), under this module's name for it."""
    return config_dir


def check(root: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["check", "--config", str(root)], terminal_width=400)
    return result.exit_code, " ".join(result.output.split())


def test_shipped_configs_pass() -> None:
    code, output = check(CONFIGS)
    assert code == 0, output
    assert SHIPPED_CONTROLS >= 48
    assert f"configuration OK: {SHIPPED_CONTROLS} controls" in output


def test_rule_kwarg_typo_names_the_kwarg_and_the_allowed_ones(configs: Path) -> None:
    edit(configs / "controls" / "logs-retention-365.yaml", "min_value: 365", "max_vlaue: 365")
    code, output = check(configs)
    assert code == 2
    assert "logs-retention-365.yaml" in output
    assert "max_vlaue" in output and "allowed: min_value, max_value" in output


def test_rule_kwarg_of_the_wrong_type(configs: Path) -> None:
    edit(configs / "controls" / "logs-retention-365.yaml", "min_value: 365", "min_value: ninety")
    code, output = check(configs)
    assert code == 2
    assert "logs-retention-365.yaml" in output and "'ninety'" in output


def test_unknown_evidence_table(configs: Path) -> None:
    edit(configs / "controls" / "logs-retention-365.yaml", "evidence_table: log_groups", "evidence_table: log_grups")
    code, output = check(configs)
    assert code == 2
    assert "logs-retention-365.yaml" in output
    assert "entry 'logs-retention-365': field evidence_table: unknown evidence table 'log_grups'; known:" in output
    assert "log_groups" in output


def test_yml_controls_are_read(configs: Path) -> None:
    controls = configs / "controls"
    (controls / "logs-retention-365.yaml").rename(controls / "logs-retention-365.yml")
    code, output = check(configs)
    assert code == 0, output
    assert f"{SHIPPED_CONTROLS} controls" in output
    edit(controls / "logs-retention-365.yml", "severity: medium", "severity: urgent")
    code, output = check(configs)
    assert code == 2
    assert "logs-retention-365.yml" in output and "severity" in output


@pytest.mark.parametrize("name", ["logs-retention-365.YAML", "logs-retention-365.json"])
def test_other_config_like_files_are_refused_by_name(configs: Path, name: str) -> None:
    controls = configs / "controls"
    (controls / "logs-retention-365.yaml").rename(controls / name)
    code, output = check(configs)
    assert code == 2
    assert name in output


def test_impossible_date_in_exceptions(configs: Path) -> None:
    edit(configs / "exceptions.yaml", "approval_date: 2026-09-01", "approval_date: 2026-02-30")
    code, output = check(configs)
    assert code == 2
    assert "exceptions.yaml" in output and "2026-02-30" in output
    assert "Traceback" not in output


def test_global_region_is_checked(configs: Path) -> None:
    (configs / "scope.yaml").write_text(
        (configs / "scope.yaml").read_text(encoding="utf-8") + "\nglobal_region: mars-1\n", encoding="utf-8"
    )
    code, output = check(configs)
    assert code == 2
    assert "scope.yaml" in output and "global_region" in output and "mars-1" in output


def test_square_brackets_in_an_error_are_printed_verbatim(configs: Path) -> None:
    edit(configs / "exceptions.yaml", "control: logs-retention-365", "control: '[bold]logs[/bold]'")
    code, output = check(configs)
    assert code == 2
    assert "exceptions.yaml" in output and "[bold]logs[/bold]" in output


def test_broken_models_yaml(configs: Path) -> None:
    edit(configs / "models.yaml", "psi_max: 0.2", "psi_max: lots")
    code, output = check(configs)
    assert code == 2
    assert "models.yaml" in output and "psi_max" in output


def test_broken_vendors_yaml(configs: Path) -> None:
    edit(configs / "vendors.yaml", "  critical: 180\n", "")
    code, output = check(configs)
    assert code == 2
    assert "vendors.yaml" in output and "critical" in output


def test_orphan_vendor_answer_file(configs: Path) -> None:
    shutil.copy(configs / "vendor-answers" / "lumen-llm.csv", configs / "vendor-answers" / "no-such-vendor.csv")
    code, output = check(configs)
    assert code == 2
    assert "no-such-vendor.csv" in output


def test_broken_deployments_yaml(configs: Path) -> None:
    (configs / "deployments.yaml").write_text(
        (configs / "deployments.yaml").read_text(encoding="utf-8") + "\nbogus_setting: 1\n", encoding="utf-8"
    )
    code, output = check(configs)
    assert code == 2
    assert "deployments.yaml" in output and "bogus_setting" in output


def test_broken_evidence_store_yaml(configs: Path) -> None:
    (configs / "evidence-store.yaml").write_text("retention_days: forever\n", encoding="utf-8")
    code, output = check(configs)
    assert code == 2
    assert "evidence-store.yaml" in output


def test_run_exits_2_before_any_aws_call(configs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # any AWS call would fail differently
    edit(configs / "controls" / "logs-retention-365.yaml", "min_value: 365", "max_vlaue: 365")
    result = runner.invoke(
        app,
        ["run", "nightly", "--config", str(configs), "--evidence-dir", str(tmp_path / "evidence")],
        terminal_width=400,
    )
    output = " ".join(result.output.split())
    assert result.exit_code == 2, output
    assert "logs-retention-365.yaml" in output and "max_vlaue" in output
    assert not (tmp_path / "evidence").exists()


@pytest.mark.parametrize(
    ("old", "new", "field", "reason"),
    [
        ("column: retention_days", "column: retention_dayz", "rule.column", "did you mean 'retention_days'?"),
        ("  kwargs:\n    min_value: 365", "  kwargs:\n    min_value: '365'", "kwargs.min_value", "must be a number"),
        ("evidence_table: log_groups", "evidence_table: log_group", "evidence_table", "unknown evidence table"),
    ],
)
def test_rule_columns_and_thresholds_are_checked_against_the_declared_table(
    configs: Path, old: str, new: str, field: str, reason: str
) -> None:
    path = configs / "controls" / "logs-retention-365.yaml"
    edit(path, old, new)
    code, output = check(configs)
    assert code == 2, output
    assert f"{path}" in output and field in output and reason in output


def test_observed_and_applies_when_columns_must_exist(configs: Path) -> None:
    path = configs / "controls" / "logs-retention-365.yaml"
    edit(path, "evidence_table: log_groups", "evidence_table: log_groups\nobserved_columns: [retention]")
    code, output = check(configs)
    assert code == 2 and "observed_columns[0]" in output and "no column 'retention'" in output
    edit(path, "observed_columns: [retention]", "applies_when: retention_days > 0 and keep == True")
    code, output = check(configs)
    assert code == 2 and "applies_when" in output and "no column 'keep'" in output


def test_threshold_of_another_type_than_the_column(configs: Path) -> None:
    path = configs / "controls" / "kms-key-rotation.yaml"
    text = path.read_text(encoding="utf-8")
    assert "expect_column_values_to_be_in_set" in text and "value_set:\n    - true" in text, text
    edit(path, "value_set:\n    - true", "value_set: ['true']")
    code, output = check(configs)
    assert code == 2 and "rule.kwargs" in output and "rotation_enabled is a boolean column" in output
    edit(path, "expect_column_values_to_be_in_set", "expect_column_values_to_be_between")
    edit(path, "value_set: ['true']", "min_value: 1")
    code, output = check(configs)
    assert code == 2 and "compares numbers, but rotation_enabled is a boolean column" in output


BAD_CONFIGS = {
    "kwarg typo": ("logs-retention-365.yaml", "min_value: 365", "max_vlaue: 365"),
    "unknown table": ("logs-retention-365.yaml", "evidence_table: log_groups", "evidence_table: nope"),
    "unknown column": ("logs-retention-365.yaml", "column: retention_days", "column: retention"),
    "code in applies_when": (
        "logs-retention-365.yaml",
        "evidence_table: log_groups",
        "evidence_table: log_groups\napplies_when: \"@pd.io.common.os.system('touch {pwned}') == 0\"",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
@pytest.mark.parametrize("command", [["check"], ["run", "nightly"]])
def test_the_four_bad_configs_exit_2_with_no_aws_call(
    configs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, command: list[str]
) -> None:
    from tests.support.api_calls import recorded_calls

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: no call could succeed
    pwned = tmp_path / "pwned"
    name, old, new = BAD_CONFIGS[case]
    edit(configs / "controls" / name, old, new.format(pwned=pwned))
    args = [*command, "--config", str(configs)]
    if command[0] == "run":
        args += ["--evidence-dir", str(tmp_path / "evidence")]
    with recorded_calls() as calls:
        result = runner.invoke(app, args, terminal_width=400)
    output = " ".join(result.output.split())
    assert result.exit_code == 2, output
    assert name in output
    assert calls == []
    assert not pwned.exists()
    assert not (tmp_path / "evidence").exists()


@pytest.mark.parametrize("name", ["scope.yml", "Owners.yaml", "notes.yaml"])
def test_a_yaml_file_no_run_reads_is_refused_by_name(configs: Path, name: str) -> None:
    (configs / name).write_text("regions: [eu-west-1]\n", encoding="utf-8")
    code, output = check(configs)
    assert code == 2 and f"{name}: not read" in output
