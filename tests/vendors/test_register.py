"""Register rows: schema, and errors that name the source line and the field at fault."""

from __future__ import annotations

from datetime import date

import pytest

from tasks.vendors.register import Location, RawRow, parse_row
from tasks.vendors.sources import csv_rows, yaml_rows

TODAY = date(2026, 11, 29)
QUESTIONS = {"encryption_at_rest", "breach_notification_hours", "trains_on_customer_data"}
GOOD = {
    "vendor": "Acme",
    "service": "Chat",
    "risk_tier": "high",
    "personal_data": "yes",
    "uses_ai": "no",
    "business_owner": "Support",
    "security_owner": "sec@example.com",
    "last_assessment": "2026-01-10",
    "right_to_audit": "false",
}


def parse(data: dict, relative: bool = False, location: Location | None = None):  # noqa: ANN201
    return parse_row(
        RawRow(data, location or Location("vendors.csv", line=7)),
        today=TODAY,
        relative_dates=relative,
        question_ids=QUESTIONS,
    )


def test_a_valid_row_becomes_a_record() -> None:
    parsed = parse(
        {
            **GOOD,
            "certifications": "ISO 27001=2027-03-31; SOC 2 Type II = 2026-12-01",
            "answers": {"encryption_at_rest": True, "breach_notification_hours": 72.0},
        }
    )
    assert parsed.errors == []
    record = parsed.record
    assert record is not None and record.key == "acme"
    assert record.personal_data is True and record.uses_ai is False and record.right_to_audit is False
    assert [(c.name, c.expires) for c in record.certifications] == [
        ("ISO 27001", date(2027, 3, 31)),
        ("SOC 2 Type II", date(2026, 12, 1)),
    ]
    assert {q: a.text for q, a in parsed.answers.items()} == {
        "encryption_at_rest": "yes",
        "breach_notification_hours": "72",
    }
    assert parsed.answers["encryption_at_rest"].where == "vendors.csv line 7"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"risk_tier": "extreme"}, "risk_tier", "Input should be 'critical', 'high', 'medium' or 'low'"),
        ({"personal_data": "perhaps"}, "personal_data", "valid boolean"),
        ({"security_owner": "Bob"}, "security_owner", "should match pattern"),
        ({"last_assessment": "2026-13-01"}, "last_assessment", "is not a calendar date"),
        ({"last_assessment": "2026-11-30"}, "last_assessment", "is in the future"),
        ({"dpa_signed": "today-3d"}, "dpa_signed", "relative_dates: true"),
        ({"certifications": "ISO 27001 until 2027"}, "certifications", "NAME=YYYY-MM-DD"),
        ({"certifications": [{"name": "ISO 27001"}]}, "certifications[0].expires", "required"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"answers": {"uptime": "99.9"}}, "answers.uptime", "unknown question"),
        ({"id": "Not A Slug"}, "id", "should match pattern"),
    ],
)
def test_a_malformed_row_names_line_and_field(change: dict, field: str, message: str) -> None:
    parsed = parse({**GOOD, **change})
    assert parsed.record is None
    assert len(parsed.errors) == 1, parsed.errors
    assert parsed.errors[0].startswith(f"vendors.csv line 7: field {field}: ")
    assert message in parsed.errors[0]


def test_every_missing_required_field_is_reported() -> None:
    parsed = parse({"vendor": "Acme"})
    fields = {e.split(": field ")[1].split(":")[0] for e in parsed.errors}
    assert fields == {
        "service",
        "risk_tier",
        "personal_data",
        "uses_ai",
        "business_owner",
        "security_owner",
        "last_assessment",
        "right_to_audit",
    }
    assert all(e.endswith(": required") for e in parsed.errors)


def test_a_row_that_is_not_a_mapping_is_an_error() -> None:
    parsed = parse("just text")  # type: ignore[arg-type]
    assert parsed.record is None and parsed.errors[0].startswith("vendors.csv line 7: ")
    assert parsed.name == "row at vendors.csv line 7"


def test_relative_dates_when_the_register_opts_in() -> None:
    parsed = parse({**GOOD, "last_assessment": "today-400d", "next_review_due": "today+1d"}, relative=True)
    assert parsed.record is not None
    assert parsed.record.last_assessment == date(2025, 10, 25)
    assert parsed.record.next_review_due == date(2026, 11, 30)


YAML = """\
source: {kind: inline}
vendors:
  - vendor: Good
    service: Chat
  - vendor: Broken
    service: Chat
    certifications:
      - name: ISO 27001
        expires: 2027-01-01
      - name: SOC 2
        expires: soon
    dpa_signed: not-a-date
"""


def test_yaml_rows_know_the_line_of_every_field() -> None:
    rows = yaml_rows(YAML, "configs/vendors.yaml", key="vendors")
    assert [r.location.line for r in rows] == [3, 5]
    broken = rows[1].location
    assert broken.at("dpa_signed") == "configs/vendors.yaml line 12"
    assert broken.at("certifications[1].expires") == "configs/vendors.yaml line 11"
    assert broken.at("certifications[1].issuer") == "configs/vendors.yaml line 10"  # nearest enclosing entry
    assert broken.at("risk_tier") == "configs/vendors.yaml line 5"  # a missing field: the row's line
    errors = parse(rows[1].data, location=broken).errors
    assert "configs/vendors.yaml line 12: field dpa_signed: expected a date YYYY-MM-DD, got 'not-a-date'" in errors
    assert any(e.startswith("configs/vendors.yaml line 11: field certifications[1].expires:") for e in errors)


CSV = (
    "vendor,service,risk_tier,personal_data,uses_ai,business_owner,security_owner,last_assessment,right_to_audit,"
    "answers.encryption_at_rest\n"
    'Acme,"Chat,\nmulti-line",high,yes,no,Support,sec@example.com,2026-01-10,no,yes\n'
    "Globex,Analytics,medium,maybe,no,Product,privacy@example.com,2026-02-01,no,\n"
    "\n"
    "Initech,Labels,low,no,no,Data,data@example.com,2026-03-01,no,no,EXTRA\n"
)


def test_csv_rows_know_their_line_even_after_a_multi_line_cell() -> None:
    rows = csv_rows(CSV, "configs/vendors.csv")
    assert [r.location.line for r in rows] == [2, 4, 6]
    first = parse(rows[0].data, location=rows[0].location)
    assert first.record is not None and first.record.service == "Chat,\nmulti-line"
    assert {q: a.text for q, a in first.answers.items()} == {"encryption_at_rest": "yes"}
    second = parse(rows[1].data, location=rows[1].location)
    assert second.errors == [
        "configs/vendors.csv line 4: field personal_data: Input should be a valid boolean, "
        "unable to interpret input (got 'maybe')"
    ]
    assert "answers" not in rows[1].data  # an empty answer cell is no answer
    third = parse(rows[2].data, location=rows[2].location)
    assert third.errors[0].startswith("configs/vendors.csv line 6: field extra_cells: unknown field")


def test_a_location_without_lines_names_the_item() -> None:
    location = Location("dynamodb table register (eu-west-1)", item="item 'acme'")
    assert location.at("dpa_signed") == "dynamodb table register (eu-west-1) item 'acme'"
