"""Policy documents as data: the schema, and every control's clause references resolved at load."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from complyflow.cli import app
from complyflow.core.config import ConfigError, load_config
from complyflow.core.policies import clauses_of
from tests.support.configs import edit

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
SEEDS = Path("/work/shared/seeds")
runner = CliRunner()


@pytest.fixture
def configs(config_dir: Path) -> Path:
    """The writable copy of the shipped configs (tests/conftest.py), under this module's name for it."""
    return config_dir


def load_error(root: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    return " ".join(str(caught.value).split())


def policy(root: Path, name: str) -> dict[str, Any]:
    return yaml.safe_load((root / "policies" / f"{name}.yaml").read_text(encoding="utf-8"))


def write_policy(root: Path, name: str, data: dict[str, Any]) -> None:
    (root / "policies" / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


# --- the shipped documents ------------------------------------------------------------------------


def test_shipped_policies_load_with_their_ids_and_titles() -> None:
    config = load_config(CONFIGS)
    assert [(d.id, d.title) for d in config.policies] == [
        ("ai-security-policy", "AI Security Policy"),
        ("ml-secpol", "ML SecPol"),
        ("vendor-guide", "Vendor Security Guide"),
    ]
    ml = next(d for d in config.policies if d.id == "ml-secpol")
    assert [c.id for c in ml.clauses] == [
        "data-security",
        "model-security",
        "platform-security",
        "security-compliance",
        "human-security",
        "exceptions",
    ]


def test_every_numbered_clause_of_the_ai_policy_is_declared() -> None:
    """1.1 … 11 as the document numbers them (section 12 lists related documents; it has no clause)."""
    document = next(d for d in load_config(CONFIGS).policies if d.id == "ai-security-policy")
    ids = [c.id for c in document.clauses]
    seed = next(SEEDS.glob("001_*"), None) if SEEDS.is_dir() else None
    if seed is not None:
        text = seed.read_text(encoding="utf-8")
        numbered = re.findall(r"^(\d+\.\d+) ", text, flags=re.MULTILINE)
        assert ids[:-1] == numbered  # every "n.m Title" heading, in order
    assert ids[-1] == "11" and len(ids) == 34
    assert len(set(ids)) == len(ids)


def test_clauses_other_engineers_evidence_carry_no_reason() -> None:
    """Controls and recurring tasks for these are being built: a reason would claim they cannot be evidenced."""
    reserved = {"2.1", "2.2", "2.3", "3.1", "3.3", "3.4", "4.2", "4.3", "5.1", "5.3", "6.1", "6.3", "6.4"}
    reserved |= {"7.1", "7.2", "7.3", "7.4", "9.1", "9.2", "10.1", "11"}
    documents = {d.id: d for d in load_config(CONFIGS).policies}
    for clause_id in reserved:
        assert documents["ai-security-policy"].clause(clause_id).not_evidenced_reason is None, clause_id
    assert documents["ml-secpol"].clause("exceptions").not_evidenced_reason is None


def test_secondary_clauses_follow_the_primary_one() -> None:
    config = load_config(CONFIGS)
    assert clauses_of(config.control("iam-user-no-admin-policy"), config.policies) == [
        "ai-security-policy:5.1",
        "ai-security-policy:5.2",
        "ml-secpol:platform-security",
    ]


# --- schema errors ---------------------------------------------------------------------------------


def test_unknown_field_names_file_entry_and_field(configs: Path) -> None:
    edit(configs / "policies" / "vendor-guide.yaml", "    title: Write a ChatGPT policy", "    titel: x")
    message = load_error(configs)
    assert "vendor-guide.yaml" in message and "entry 'vendor-guide'" in message
    assert "clauses.2.titel" in message and "clauses.2.title" in message


def test_blank_summary_and_bad_clause_id_are_refused(configs: Path) -> None:
    data = policy(configs, "ml-secpol")
    data["clauses"][0]["summary"] = "   "
    data["clauses"][1]["id"] = "model security"
    write_policy(configs, "ml-secpol", data)
    message = load_error(configs)
    assert "ml-secpol.yaml" in message and "clauses.0.summary" in message and "clauses.1.id" in message


def test_a_clause_id_declared_twice(configs: Path) -> None:
    data = policy(configs, "ml-secpol")
    data["clauses"].append(dict(data["clauses"][0]))
    write_policy(configs, "ml-secpol", data)
    assert "data-security declared twice" in load_error(configs)


def test_policy_id_must_match_its_file_name(configs: Path) -> None:
    edit(configs / "policies" / "ml-secpol.yaml", "id: ml-secpol", "id: ml-policy")
    assert "policy id 'ml-policy' must match the file name 'ml-secpol'" in load_error(configs)


def test_two_documents_cannot_share_a_title(configs: Path) -> None:
    edit(configs / "policies" / "vendor-guide.yaml", "title: Vendor Security Guide", "title: ML SecPol")
    message = load_error(configs)
    assert "vendor-guide.yaml" in message and "already names policy 'ml-secpol'" in message


def test_a_policy_file_with_another_extension_is_refused(configs: Path) -> None:
    (configs / "policies" / "extra.json").write_text("{}", encoding="utf-8")
    assert "extra.json: not read" in load_error(configs)


# --- references --------------------------------------------------------------------------------------


def test_unknown_document_in_policy_clause(configs: Path) -> None:
    edit(configs / "controls" / "kms-key-rotation.yaml", "document: AI Security Policy", "document: AI Sec Policy")
    message = load_error(configs)
    assert "controls/kms-key-rotation.yaml: entry 'kms-key-rotation'" in message
    assert "field policy_clause.document: unknown policy 'AI Sec Policy'" in message


def test_section_whose_number_is_no_clause(configs: Path) -> None:
    edit(configs / "controls" / "kms-key-rotation.yaml", "section: 3.2 Data Storage", "section: 3.9 Data Storage")
    message = load_error(configs)
    assert "kms-key-rotation.yaml" in message and "field policy_clause.section" in message and "'3.9" in message


@pytest.mark.parametrize(
    ("section", "clause"),
    [("6.1", "6.1"), ("6.1. System Monitoring", "6.1"), ("11 Policy Review and Update", "11"), ("11", "11")],
)
def test_section_forms_that_resolve(configs: Path, section: str, clause: str) -> None:
    edit(
        configs / "controls" / "kms-key-rotation.yaml",
        "section: 3.2 Data Storage and Transmission",
        f"section: '{section}'",
    )
    config = load_config(configs)
    assert clauses_of(config.control("kms-key-rotation"), config.policies)[0] == f"ai-security-policy:{clause}"


def test_a_section_may_name_a_clause_by_its_title_and_a_document_by_an_alias(configs: Path) -> None:
    path = configs / "controls" / "kms-key-rotation.yaml"
    edit(path, "document: AI Security Policy", "document: ML Security Policy")
    edit(path, "section: 3.2 Data Storage and Transmission", "section: data security")
    config = load_config(configs)
    assert clauses_of(config.control("kms-key-rotation"), config.policies)[0] == "ml-secpol:data-security"


def test_a_section_of_3_does_not_match_clause_3_2(configs: Path) -> None:
    edit(configs / "controls" / "kms-key-rotation.yaml", "section: 3.2 Data Storage", "section: 3 Data Storage")
    assert "field policy_clause.section" in load_error(configs)


def test_unknown_policy_and_clause_in_clauses(configs: Path) -> None:
    path = configs / "controls" / "kms-key-rotation.yaml"
    edit(path, "- ml-secpol:data-security", "- ml-sec:data-security")
    message = load_error(configs)
    assert "kms-key-rotation.yaml" in message and "field clauses[0]: unknown policy 'ml-sec'" in message
    edit(path, "- ml-sec:data-security", "- ml-secpol:data")
    message = load_error(configs)
    assert "field clauses[0]: ml-secpol has no clause 'data'" in message


def test_a_clause_reference_must_be_policy_colon_clause(configs: Path) -> None:
    edit(configs / "controls" / "kms-key-rotation.yaml", "- ml-secpol:data-security", "- data-security")
    message = load_error(configs)
    assert "kms-key-rotation.yaml" in message and "field clauses:" in message
    assert "'data-security' is not <policy id>:<clause id>" in message


def test_a_reason_on_a_clause_a_control_evidences_is_stale(configs: Path) -> None:
    edit(configs / "controls" / "kms-key-rotation.yaml", "- ml-secpol:data-security", "- ai-security-policy:1.3")
    message = load_error(configs)
    assert "ai-security-policy.yaml" in message and "clauses[2].not_evidenced_reason" in message
    assert "'kms-key-rotation'" in message


def test_a_disabled_control_does_not_make_a_reason_stale(configs: Path) -> None:
    path = configs / "controls" / "kms-key-rotation.yaml"
    edit(path, "- ml-secpol:data-security", "- ai-security-policy:1.3")
    path.write_text(path.read_text(encoding="utf-8") + "enabled: false\n", encoding="utf-8")
    assert load_config(configs).control("kms-key-rotation").enabled is False


def test_without_policies_folder_policy_clause_is_not_checked_but_clauses_are(configs: Path) -> None:
    shutil.rmtree(configs / "policies")
    message = load_error(configs)  # the shipped controls name secondary clauses
    assert "unknown policy" in message and "no policy documents under policies/" in message
    for path in (configs / "controls").glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data.pop("clauses", None)
        data["policy_clause"]["section"] = "99 Anything"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    recurring = yaml.safe_load((configs / "recurring.yaml").read_text(encoding="utf-8"))
    for task in recurring["tasks"]:
        task.pop("clauses", None)
    (configs / "recurring.yaml").write_text(yaml.safe_dump(recurring, sort_keys=False), encoding="utf-8")
    assert load_config(configs).policies == []


def test_check_exits_2_naming_file_and_field(configs: Path) -> None:
    edit(configs / "controls" / "guardduty-detector-enabled.yaml", "section: 6.1", "section: 6.9")
    result = runner.invoke(app, ["check", "--config", str(configs)], terminal_width=400)
    output = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "guardduty-detector-enabled.yaml: entry 'guardduty-detector-enabled': field policy_clause.section" in output


def test_check_counts_the_policy_documents() -> None:
    result = runner.invoke(app, ["check", "--config", str(CONFIGS)], terminal_width=400)
    assert result.exit_code == 0, result.output
    assert "3 policy document(s) with 49 clause(s)" in " ".join(result.output.split())


def test_recurring_tasks_name_secondary_clauses_checked_like_controls(tmp_path: Path) -> None:
    """A task's `clauses` reach its controls (so coverage lists it), and an unknown reference is refused at load."""
    shutil.copytree(CONFIGS, tmp_path / "configs")
    config = load_config(tmp_path / "configs")
    roles = next(c for c in config.controls if c.id == "recurring-ai-security-roles")
    assert "ml-secpol:human-security" in roles.clauses
    path = tmp_path / "configs" / "recurring.yaml"
    data = yaml.safe_load(path.read_text())
    data["tasks"][0]["clauses"] = ["ml-secpol:no-such-area"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="no-such-area"):
        load_config(tmp_path / "configs")
