"""`applies_when` is data, never code: the safe grammar, its evaluation, config-load rejection, validate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from complyflow.core.conditions import ConditionError, parse_condition
from complyflow.core.config import ConfigError, load_config
from complyflow.core.model import EvidenceGap, Status
from tasks.validate import findings_for_table, new_context
from tests.conftest import CONFIGS
from tests.test_validate import by_id, frame

DATA = pd.DataFrame(
    {
        "name": ["a", "b", "c", "d"],
        "status": ["Active", "Inactive", None, "Active"],
        "age": [10, 100, None, 50],
        "limit": [20, 50, 5, None],
        "flag": [True, False, None, True],
    }
)


def rows(text: str) -> list[str]:
    return DATA.loc[parse_condition(text).mask(DATA), "name"].tolist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status == 'Active'", ["a", "d"]),
        ('status == "Active"', ["a", "d"]),
        ("'Active' == status", ["a", "d"]),
        ("status != 'Active'", ["b", "c"]),  # as in pandas: null != 'x' holds
        ("age > 10", ["b", "d"]),
        ("age >= 10", ["a", "b", "d"]),
        ("age < 50", ["a"]),
        ("age <= 50.0", ["a", "d"]),
        ("100 <= age", ["b"]),
        ("age < limit", ["a"]),  # column vs column; nulls never compare
        ("flag == True", ["a", "d"]),
        ("flag == true", ["a", "d"]),
        ("flag == false", ["b"]),
        ("flag == False", ["b"]),
        ("status in ['Active', 'Gone']", ["a", "d"]),
        ("status not in ['Active']", ["b", "c"]),  # as in pandas: null is not in the list
        ("age in [10, 100]", ["a", "b"]),
        ("not status == 'Active'", ["b", "c"]),
        ("not (age > 10)", ["a", "c"]),
        ("status is null", ["c"]),
        ("status is None", ["c"]),
        ("status is not null", ["a", "b", "d"]),
        ("limit is not None", ["a", "b", "c"]),
        # `and` binds tighter than `or`
        ("status == 'Inactive' or status == 'Active' and age > 20", ["b", "d"]),
        ("(status == 'Inactive' or status == 'Active') and age > 20", ["b", "d"]),
        ("(status == 'Inactive' or status == 'Active') and age < 20", ["a"]),
        ("status == 'Active' and (age < 20 or limit is null)", ["a", "d"]),
        ("age == -5 or age > -1 and status is null", []),
    ],
)
def test_allowed_forms_evaluate_like_pandas(text: str, expected: list[str]) -> None:
    assert rows(text) == expected


def test_columns_are_the_names_read() -> None:
    condition = parse_condition("key_state == 'Enabled' and (origin in ['A'] or rotation is null) and a < b")
    assert condition.columns == frozenset({"key_state", "origin", "rotation", "a", "b"})
    assert parse_condition("flag == true").columns == frozenset({"flag"})


def test_mask_of_missing_column_raises() -> None:
    with pytest.raises(KeyError, match="no_such_column"):
        parse_condition("no_such_column == 1").mask(DATA)


def test_shipped_conditions_parse() -> None:
    assert any(c.applies_when for c in load_config(CONFIGS).controls)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("@pd.io.common.os.system('touch pwned') == 0", "'@'"),
        ("@x == 1", "'@'"),
        ("status.upper == 'A'", "attribute access"),
        ("pd.io.common.os.system('touch pwned') == 0", "function calls"),
        ("pd.io.common.os == 0", "attribute access"),
        ("__import__('os').system('touch pwned') == 0", "function calls"),
        ("len(status) == 1", "function calls"),
        ("status[0] == 'A'", "subscripts"),
        ("__class__ == 1", "dunder"),
        ("age + 1 > 2", "arithmetic"),
        ("age * 2 > 2", "arithmetic"),
        ("-age > 2", "arithmetic"),
        ("(lambda: 1)() == 1", "function calls"),
        ("(lambda: 1) == 1", "lambdas"),
        ("f'{status}' == 'x'", "f-strings"),
        ("status in names", "list of literals"),
        ("status in [other]", "only literals"),
        ("1 < age < 3", "chained"),
        ("status is 'x'", "is null"),
        ("status == None", "is null"),
        ("'constant'", "constant"),
        ("status ==", "not a valid expression"),
        ("", "empty"),
        ("status = 'x'", "not a valid expression"),
    ],
)
def test_everything_else_is_rejected(text: str, reason: str) -> None:
    with pytest.raises(ConditionError, match=reason) as raised:
        parse_condition(text)
    assert isinstance(raised.value, ValueError)


def test_code_in_applies_when_fails_config_load_and_never_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    path = configs / "controls" / "kms-key-rotation.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "applies_when: key_manager == 'CUSTOMER' and key_state == 'Enabled' and key_spec == 'SYMMETRIC_DEFAULT' "
        "and origin\n  == 'AWS_KMS'",
        "applies_when: \"@pd.io.common.os.system('touch pwned') == 0\"",
    )
    assert "touch pwned" in text
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(configs)
    message = str(raised.value)
    assert message.startswith(f"{path.resolve()}: entry 'kms-key-rotation': invalid")
    assert "field applies_when: " in message
    assert "'@'" in message
    assert not (tmp_path / "pwned").exists()


def kms_rows() -> pd.DataFrame:
    base = {"key_manager": "CUSTOMER", "key_spec": "SYMMETRIC_DEFAULT", "origin": "AWS_KMS"}
    return frame(
        [
            {"id": "rotated", "key_state": "Enabled", "rotation_enabled": True, **base},
            {"id": "not-rotated", "key_state": "Enabled", "rotation_enabled": False, **base},
            {"id": "pending", "key_state": "PendingDeletion", "rotation_enabled": None, **base},
            {"id": "denied", "key_state": "Enabled", "rotation_enabled": None, **base},
        ]
    )


def gap(resource_id: str, operation: str) -> EvidenceGap:
    return EvidenceGap(
        account="111111111111",
        region="eu-west-1",
        service="kms",
        tables=("kms_keys",),
        operation=operation,
        error_code="AccessDeniedException",
        message="denied",
        resource_id=resource_id,
    )


def test_resource_gap_on_a_key_the_control_does_not_apply_to_gives_no_finding() -> None:
    control = load_config(CONFIGS).control("kms-key-rotation")
    data = kms_rows()
    columns = list(data.columns)
    findings = findings_for_table(
        context=new_context(),
        run_id="R1",
        table="kms_keys",
        frame=data,
        controls=[control],
        gaps=[gap("pending", "ListResourceTags"), gap("denied", "GetKeyRotationStatus")],
        evidence_file="evidence/kms_keys.parquet",
    )
    assert by_id(findings) == {"rotated": Status.PASS, "not-rotated": Status.FAIL, "denied": Status.ERROR}
    assert list(data.columns) == columns  # the stored evidence does not gain the applicability columns
    assert not any(c.startswith("__applies") for c in data.columns)
