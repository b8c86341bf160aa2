"""`complyflow iam-policy`: least privilege generated from the declarations and the config's own resources."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from complyflow.cli import app
from tasks.iam_policy import generate_policy

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
runner = CliRunner()


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    root = tmp_path / "configs"
    shutil.copytree(CONFIGS, root)
    return root


def statements(policy: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy["Statement"]}


def update_yaml(path: Path, **changes: object) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")


def test_cli_prints_the_shipped_policy() -> None:
    result = runner.invoke(app, ["iam-policy", "--config", str(CONFIGS)])
    assert result.exit_code == 0, result.output
    assert result.output == (CONFIGS / "iam-policy.json").read_text(encoding="utf-8")
    assert "sts:AssumeRole" in json.loads(result.output)["Statement"][-1]["Action"]


def test_no_s3_object_read_on_every_resource() -> None:
    for statement in generate_policy(CONFIGS)["Statement"]:
        if "s3:GetObject" in statement["Action"]:
            buckets = ("arn:aws:s3:::demo-model-monitoring/", "arn:aws:s3:::demo-grc-evidence/")
            assert all(r.startswith(buckets) for r in statement["Resource"])


def test_assume_role_on_the_scope_roles(configs: Path) -> None:
    update_yaml(
        configs / "scope.yaml",
        accounts=[
            {"name": "a", "role_arn": "arn:aws:iam::111111111111:role/audit"},
            {"name": "b", "role_arn": "arn:aws:iam::222222222222:role/audit"},
        ],
    )
    assume = statements(generate_policy(configs))["ComplyflowAssumeScopeRoles"]
    assert assume["Resource"] == ["arn:aws:iam::111111111111:role/audit", "arn:aws:iam::222222222222:role/audit"]


def test_vendor_register_in_dynamodb_is_scanned_on_that_table_only(configs: Path) -> None:
    path = configs / "vendors.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["source"] = {"kind": "dynamodb", "table": "vendor-register", "region": "eu-west-1"}
    data.pop("vendors", None)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    shutil.rmtree(configs / "vendor-answers")
    register = statements(generate_policy(configs))["ComplyflowReadVendorRegister"]
    assert register["Action"] == ["dynamodb:Scan"]
    assert register["Resource"] == ["arn:aws:dynamodb:eu-west-1:*:table/vendor-register"]


def test_s3_evidence_store_writes_are_statements_of_their_own(configs: Path) -> None:
    (configs / "evidence-store.yaml").write_text(
        "backend: s3\ns3:\n  bucket: acme-evidence\n  prefix: complyflow/\n  kms_key_id: "
        "arn:aws:kms:eu-west-1:111111111111:key/abc\n",
        encoding="utf-8",
    )
    found = statements(generate_policy(configs))
    assert found["ComplyflowEvidenceStoreBucket"]["Resource"] == ["arn:aws:s3:::acme-evidence"]
    objects = found["ComplyflowEvidenceStoreObjects"]
    assert objects["Resource"] == ["arn:aws:s3:::acme-evidence/complyflow/*"]
    assert {"s3:PutObject", "s3:PutObjectRetention", "s3:GetObject"} <= set(objects["Action"])
    assert found["ComplyflowEvidenceStoreEncryption"]["Resource"] == ["arn:aws:kms:eu-west-1:111111111111:key/abc"]
    collect = [s for sid, s in found.items() if not sid.startswith("ComplyflowEvidenceStore")]
    assert not any("s3:PutObject" in s["Action"] for s in collect)


def test_only_the_collectors_of_enabled_controls_are_granted(configs: Path) -> None:
    for path in (configs / "controls").glob("*.yaml"):
        if "evidence_table: rds_instances" not in path.read_text(encoding="utf-8"):
            path.unlink()
    (configs / "exceptions.yaml").write_text("exceptions: []\n", encoding="utf-8")
    (configs / "recurring.yaml").unlink()  # its tasks are controls too
    sids = set(statements(generate_policy(configs)))
    assert sids == {"ComplyflowCollectRds", "ComplyflowAssumeScopeRoles"}


def test_bad_config_exits_2(configs: Path) -> None:
    (configs / "scope.yaml").write_text("regions: [mars-1]\n", encoding="utf-8")
    result = runner.invoke(app, ["iam-policy", "--config", str(configs)])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("key", "resource", "condition"),
    [
        (
            "alias/complyflow-evidence",
            ["*"],
            {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/complyflow-evidence"]}},
        ),
        ("arn:aws:kms:eu-west-1:111111111111:key/k1", ["arn:aws:kms:eu-west-1:111111111111:key/k1"], None),
    ],
)
def test_kms_signing_key_gets_sign_only_on_that_key(
    configs: Path, key: str, resource: list, condition: dict | None
) -> None:
    (configs / "evidence-store.yaml").write_text(f"signing:\n  kms_key_id: {key}\n", encoding="utf-8")
    signing = statements(generate_policy(configs))["ComplyflowEvidenceSigning"]
    assert signing["Action"] == ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign"]
    assert signing["Resource"] == resource and signing.get("Condition") == condition
