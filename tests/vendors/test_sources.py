"""The register from a CSV file, a DynamoDB table and an S3 object (moto), through the same collector."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import boto3
import pytest

from tests.vendors.conftest import collect, failures, findings

CSV = """\
vendor,service,risk_tier,personal_data,uses_ai,business_owner,security_owner,last_assessment,next_review_due,\
dpa_signed,certifications,right_to_audit,answers.trains_on_customer_data,answers.prompt_output_retention_days
Acme Assist,Chatbot on OpenAI's API,high,yes,yes,Support,appsec@example.com,2026-01-10,,2026-01-15,\
ISO 27001=2027-01-01,no,yes,30
Globex,Analytics,medium,yes,no,Product,privacy@example.com,2025-11-01,,,,no,,
Broken,Analytics,medium,yes,no,Product,privacy@example.com,2026-01-10,,2026-02-30,,no,,
"""


def _source(kind: str, **extra: str) -> dict:
    return {"source": {"kind": kind, **extra}}


def test_a_csv_register_next_to_the_settings(vendor_config: Callable[..., Path]) -> None:
    folder = vendor_config(**_source("file", path="vendor-register.csv"))
    (folder / "vendor-register.csv").write_text(CSV)
    result = collect(folder)
    assert result.tables["vendors"]["resource_name"].tolist() == ["Acme Assist", "Globex", "Broken"]
    assert [g.message for g in result.gaps if g.resource_id == "vendor:broken"] == [
        "configs/vendor-register.csv line 4: field dpa_signed: '2026-02-30' is not a calendar date"
    ]
    assert failures(findings(folder, result=result)) == {
        ("vendor-answers-meet-policy", "Acme Assist: trains_on_customer_data"),
        ("vendor-reassessment-on-time", "Globex"),
        ("vendor-dpa-signed", "Globex"),
    }


def test_relative_dates_are_refused_unless_the_register_opts_in(vendor_config: Callable[..., Path]) -> None:
    folder = vendor_config(**_source("file", path="vendor-register.csv"))
    (folder / "vendor-register.csv").write_text(CSV.replace("2026-01-10,,2026-01-15", "today-30d,,2026-01-15"))
    assert "field last_assessment: relative date 'today-30d' is only allowed with source.relative_dates" in (
        collect(folder).gaps[0].message
    )


REGION = "eu-west-1"
TABLE = "vendor-register"


def _dynamodb_items() -> list[dict]:
    return [
        {
            "id": "acme-assist",
            "vendor": "Acme Assist",
            "service": "Chatbot on OpenAI's API",
            "risk_tier": "critical",
            "personal_data": True,
            "uses_ai": True,
            "business_owner": "Support",
            "security_owner": "appsec@example.com",
            "last_assessment": "2026-09-01",
            "dpa_signed": "2026-01-15",
            "right_to_audit": True,
            "certifications": [
                {"name": "ISO 27001", "expires": "2027-01-01"},
                {"name": "SOC 2 Type II", "expires": "2026-11-28"},
            ],
            "answers": {"trains_on_customer_data": False, "prompt_output_retention_days": Decimal("30")},
        },
        {
            "id": "globex",
            "vendor": "Globex",
            "service": "Analytics",
            "risk_tier": "medium",
            "personal_data": True,
            "uses_ai": False,
            "business_owner": "Product",
            "security_owner": "privacy@example.com",
            "last_assessment": "2026-09-01",
            "right_to_audit": False,
            "questionnaire_sent": "2026-10-01",
            "answers.encryption_at_rest": "no",
        },
        {
            "id": "initech",
            "vendor": "Initech",
            "service": "Labels",
            "risk_tier": "urgent",
            "personal_data": True,
            "uses_ai": False,
            "business_owner": "Data",
            "security_owner": "data@example.com",
            "last_assessment": "2026-09-01",
            "right_to_audit": False,
        },
    ]


@pytest.fixture
def dynamodb_register(aws: None) -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
    for item in _dynamodb_items():
        table.put_item(Item=item)


def test_a_dynamodb_register(dynamodb_register: None, vendor_config: Callable[..., Path]) -> None:
    folder = vendor_config(**_source("dynamodb", table=TABLE, region=REGION))
    result = collect(folder)
    assert sorted(result.tables["vendors"]["resource_id"]) == ["vendor:acme-assist", "vendor:globex", "vendor:initech"]
    assert [g.message for g in result.gaps if g.resource_id == "vendor:initech"] == [
        "dynamodb table vendor-register (eu-west-1) item 'initech': field risk_tier: Input should be 'critical', "
        "'high', 'medium' or 'low' (got 'urgent')"
    ]
    found = findings(folder, result=result)
    assert failures(found) == {
        ("vendor-certification-current", "Acme Assist: SOC 2 Type II"),
        ("vendor-dpa-signed", "Globex"),
        ("vendor-questionnaire-answered", "Globex"),
        ("vendor-answers-meet-policy", "Globex: encryption_at_rest"),
    }
    assert {f.control_id for f in found if f.resource_name == "Initech" and f.status == "ERROR"} >= {
        "vendor-reassessment-on-time",
        "vendor-dpa-signed",
    }
    answers = result.tables["vendor_answers"].set_index("resource_id")
    assert answers.loc["vendor:acme-assist/question:prompt_output_retention_days", "answer"] == "30"
    assert answers.loc["vendor:acme-assist/question:trains_on_customer_data", "answer"] == "no"


def test_a_missing_dynamodb_table_is_an_evidence_gap(aws: None, vendor_config: Callable[..., Path]) -> None:
    folder = vendor_config(**_source("dynamodb", table="no-such-table", region=REGION))
    result = collect(folder)
    assert [(g.operation, g.error_code, g.resource_id) for g in result.gaps] == [
        ("Scan", "ResourceNotFoundException", None)
    ]
    assert {str(f.status) for f in findings(folder, result=result)} == {"ERROR"}


def test_an_s3_register(aws: None, vendor_config: Callable[..., Path]) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="vendor-registers", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="vendor-registers", Key="2026/vendors.csv", Body=CSV.encode())
    folder = vendor_config(**_source("s3", bucket="vendor-registers", key="2026/vendors.csv", region=REGION))
    result = collect(folder)
    assert [g.message for g in result.gaps if g.resource_id == "vendor:broken"] == [
        "s3://vendor-registers/2026/vendors.csv line 4: field dpa_signed: '2026-02-30' is not a calendar date"
    ]
    assert ("vendor-dpa-signed", "Globex") in failures(findings(folder, result=result))


def test_a_missing_s3_object_is_an_evidence_gap(aws: None, vendor_config: Callable[..., Path]) -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="vendor-registers")
    folder = vendor_config(**_source("s3", bucket="vendor-registers", key="vendors.yaml", region="us-east-1"))
    result = collect(folder)
    assert [(g.operation, g.error_code) for g in result.gaps] == [("GetObject", "NoSuchKey")]


def test_a_yaml_file_register(vendor_config: Callable[..., Path]) -> None:
    folder = vendor_config(**_source("file", path="register.yaml"))
    (folder / "register.yaml").write_text(
        "- vendor: Solo\n  service: Chat\n  risk_tier: low\n  personal_data: false\n  uses_ai: false\n"
        "  business_owner: Ops\n  security_owner: ops@example.com\n  last_assessment: 2026-10-01\n"
        "  right_to_audit: maybe\n"
    )
    result = collect(folder)
    assert [g.message for g in result.gaps][:1] == [
        "configs/register.yaml line 9: field right_to_audit: Input should be a valid boolean, unable to interpret "
        "input (got 'maybe')"
    ]
