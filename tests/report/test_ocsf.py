"""OCSF Detection Findings: valid for py-ocsf-models, one per resource and control, Prowler's status vocabulary."""

from __future__ import annotations

import json

import pytest
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

from complyflow.core.model import Status
from tasks.report.ocsf import ocsf_json
from tests.report.factory import STARTED, control, finding

CONTROLS = {
    "c-enc": control(
        "c-enc",
        frameworks={"iso27001": ["A.8.24"], "iso42001": ["A.7.2"], "soc2": ["CC6.1"], "cis_aws": ["2.1.1"]},
        severity="critical",
    ),
    "c-log": control("c-log", frameworks={"soc2": ["CC7.2"]}, severity="informational"),
}


def items(*findings_: object) -> list[dict]:
    return json.loads(ocsf_json(list(findings_), CONTROLS, STARTED))  # type: ignore[arg-type]


def test_every_item_validates_against_py_ocsf_models_and_round_trips() -> None:
    data = items(
        finding("c-enc", Status.PASS, "a"),
        finding("c-enc", Status.FAIL, "b"),
        finding("c-log", Status.ERROR, "c", message="evidence missing: GetBucketPolicy AccessDenied"),
        finding("c-log", Status.EXCEPTED, "d", exception_id="EXC-1", message="excepted until 2027-03-01"),
    )
    assert len(data) == 4
    for item in data:
        model = DetectionFinding.model_validate(item)
        assert model.model_dump(mode="json", exclude_none=True) == item
        assert item["class_uid"] == 2004 and item["category_uid"] == 2
        assert item["type_uid"] == 200401 and item["activity_id"] == 1
        assert item["metadata"]["version"].startswith("1.")
        assert item["metadata"]["product"]["name"] == "complyflow"


@pytest.mark.parametrize(
    ("status", "code", "status_id", "status_name"),
    [
        (Status.PASS, "PASS", 1, "New"),
        (Status.FAIL, "FAIL", 1, "New"),
        (Status.EXCEPTED, "FAIL", 3, "Suppressed"),
        (Status.ERROR, "MANUAL", 1, "New"),
    ],
)
def test_status_mapping_follows_prowler(status: Status, code: str, status_id: int, status_name: str) -> None:
    (item,) = items(finding("c-enc", status))
    assert (item["status_code"], item["status_id"], item["status"]) == (code, status_id, status_name)
    assert item["unmapped"]["complyflow"]["status"] == str(status)  # the exact verdict is kept


def test_resource_region_owner_and_event_code() -> None:
    arn = "arn:aws-cn:s3:::bucket-1"
    (item,) = items(finding("c-enc", Status.FAIL, "bucket-1", arn=arn, region="cn-north-1", owner="data-eng"))
    assert item["metadata"]["event_code"] == "c-enc"
    (resource,) = item["resources"]
    assert resource["uid"] == arn
    assert resource["region"] == "cn-north-1"
    assert resource["cloud_partition"] == "aws-cn"
    assert resource["group"] == {"name": "s3"}
    assert resource["name"] == "bucket-1"
    assert resource["type"] == "AwsS3Bucket"
    assert resource["owner"]["name"] == "data-eng"
    assert resource["owner"]["type"] == "Team"
    assert resource["owner"]["account"]["uid"] == "111111111111"
    assert resource["data"]["details"] == {"observed": "ok = False", "expected": "ok = True"}
    assert item["cloud"] == {
        "account": {"name": "111111111111", "type": "AWS Account", "type_id": 10, "uid": "111111111111"},
        "provider": "aws",
        "region": "cn-north-1",
    }


def test_owner_given_as_email_is_a_user_and_missing_owner_is_left_out() -> None:
    person, nobody = items(
        finding("c-enc", Status.FAIL, "a", owner="ana@example.com"), finding("c-enc", Status.FAIL, "b", owner="")
    )
    assert person["resources"][0]["owner"]["email_addr"] == "ana@example.com"
    assert person["resources"][0]["owner"]["type_id"] == 1
    assert "owner" not in nobody["resources"][0]


def test_severity_compliance_remediation_and_times() -> None:
    critical, info = items(finding("c-enc", Status.FAIL, "a"), finding("c-log", Status.PASS, "b"))
    assert (critical["severity_id"], critical["severity"]) == (5, "Critical")
    assert (info["severity_id"], info["severity"]) == (1, "Informational")
    assert critical["unmapped"]["compliance"] == {
        "ISO27001-2022": ["A.8.24"],
        "ISO42001-2023": ["A.7.2"],
        "SOC2": ["CC6.1"],
        "CIS-AWS": ["2.1.1"],
    }
    assert info["unmapped"]["compliance"] == {"SOC2": ["CC7.2"]}
    assert critical["remediation"] == {"desc": "Remediate c-enc."}
    assert critical["finding_info"]["title"] == "Title of c-enc"
    assert critical["time"] == int(STARTED.timestamp()) == critical["finding_info"]["created_time"]
    assert critical["time_dt"] == "2026-11-29T02:00:00Z"


def test_finding_uid_is_stable_and_unique_per_control_and_resource() -> None:
    data = items(
        finding("c-enc", Status.FAIL, "a"), finding("c-enc", Status.FAIL, "b"), finding("c-log", Status.FAIL, "a")
    )
    uids = [item["finding_info"]["uid"] for item in data]
    assert len(set(uids)) == 3
    assert uids[0] == "complyflow-aws-c-enc-111111111111-eu-west-1-arn:aws:s3:::a"
    again = items(finding("c-enc", Status.PASS, "a", run_id="another-run"))
    assert again[0]["finding_info"]["uid"] == uids[0]


def test_messages_say_what_was_observed_and_why() -> None:
    fail, error, excepted = items(
        finding("c-enc", Status.FAIL, "a"),
        finding("c-enc", Status.ERROR, "b", message="evidence missing: GetBucketPolicy AccessDenied"),
        finding("c-enc", Status.EXCEPTED, "c", message="excepted until 2027-03-01 by ciso@example.com"),
    )
    assert fail["message"] == "a: ok = False, expected ok = True."
    assert error["status_detail"] == "b: not verified, evidence missing: GetBucketPolicy AccessDenied."
    assert excepted["message"].endswith("excepted until 2027-03-01 by ciso@example.com.")


def test_untrusted_text_is_kept_verbatim_as_json_data() -> None:
    (item,) = items(finding("c-enc", Status.FAIL, '<img src=x onerror=alert(1)>"'))
    assert item["resources"][0]["name"] == '<img src=x onerror=alert(1)>"'


def test_empty_run_is_an_empty_array() -> None:
    assert ocsf_json([], CONTROLS, STARTED) == "[]\n"


def test_finding_of_a_control_outside_the_catalog_is_an_error() -> None:
    with pytest.raises(KeyError, match="c-unknown"):
        ocsf_json([finding("c-unknown", Status.FAIL)], CONTROLS, STARTED)
