"""A malformed row is an ERROR for its vendor, naming line and field; every other vendor is still evaluated."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from tests.vendors.conftest import collect, findings, vendor

REGISTER = """\
source: {kind: inline}
review_intervals_days: {critical: 180, high: 365, medium: 365, low: 365}
vendors:
  - vendor: Before
    service: Chat
    risk_tier: low
    personal_data: true
    uses_ai: false
    business_owner: Support
    security_owner: before@example.com
    last_assessment: 2026-10-01
    right_to_audit: false
  - vendor: Broken
    service: Chat
    risk_tier: low
    personal_data: true
    uses_ai: false
    business_owner: Support
    security_owner: broken@example.com
    last_assessment: 2026-10-01
    dpa_signed: last spring
    right_to_audit: false
  - vendor: After
    service: Chat
    risk_tier: low
    personal_data: true
    uses_ai: false
    business_owner: Support
    security_owner: after@example.com
    last_assessment: 2026-10-01
    right_to_audit: false
"""


def test_a_malformed_row_is_error_for_its_vendor_and_the_others_are_evaluated(
    vendor_config: Callable[..., Path],
) -> None:
    folder = vendor_config(text=REGISTER)
    found = findings(folder)
    broken = [f for f in found if f.resource_name == "Broken"]
    assert broken and {str(f.status) for f in broken} == {"ERROR"}
    vendor_table_controls = {
        "vendor-reassessment-on-time",
        "vendor-review-due-soon",
        "vendor-review-due-imminent",
        "vendor-dpa-signed",
        "vendor-questionnaire-answered",
        "vendor-ai-answers-present",
        "vendor-right-to-audit",
    }
    # Every control says ERROR for it, including those reading the certification and answer tables.
    assert {f.control_id for f in broken} == vendor_table_controls | {
        "vendor-certification-held",
        "vendor-certification-current",
        "vendor-certification-expiring",
        "vendor-answers-meet-policy",
    }
    assert {f.owner for f in broken} == {"broken@example.com"}
    for name in ("Before", "After"):
        dpa = next(f for f in found if f.control_id == "vendor-dpa-signed" and f.resource_name == name)
        assert dpa.status == "FAIL"  # evaluated: neither has a DPA
    gaps = collect(folder).gaps
    assert {g.resource_id for g in gaps} == {"vendor:broken", "vendor:broken/certifications", "vendor:broken/answers"}
    assert {g.message for g in gaps} == {
        "configs/vendors.yaml line 21: field dpa_signed: expected a date YYYY-MM-DD, got 'last spring'"
    }
    assert {(g.operation, g.error_code) for g in gaps} == {("ReadVendorRegister", "RegisterRowError")}


def test_the_evidence_keeps_the_register_errors(vendor_config: Callable[..., Path]) -> None:
    frame = collect(vendor_config(text=REGISTER)).tables["vendors"].set_index("resource_name")
    assert frame.loc["Broken", "register_errors"].startswith("configs/vendors.yaml line 21: field dpa_signed")
    assert frame.loc["Broken", "register_location"] == "configs/vendors.yaml line 13"
    assert pd.isna(frame.loc["Broken", "review_due_in_days"])
    assert frame.loc["After", "register_location"] == "configs/vendors.yaml line 23"


def test_a_duplicate_vendor_id_is_an_error_not_an_overwrite(vendor_config: Callable[..., Path]) -> None:
    folder = vendor_config([vendor("Acme"), vendor("ACME", dpa_signed=None), vendor("Acme", id="acme-eu")])
    result = collect(folder)
    ids = result.tables["vendors"]["resource_id"].tolist()
    assert ids == ["vendor:acme", "vendor:acme@2", "vendor:acme-eu"]
    assert len(result.gaps) == 3
    assert re.fullmatch(
        r"configs/vendors.yaml line \d+: field id: duplicate vendor id 'acme' \(first at "
        r"configs/vendors.yaml line \d+\); give each vendor a distinct `id`",
        result.gaps[0].message,
    )
    statuses = {
        (f.resource_id, str(f.status)) for f in findings(folder, result=result) if f.control_id == "vendor-dpa-signed"
    }
    assert statuses == {("vendor:acme", "PASS"), ("vendor:acme@2", "ERROR"), ("vendor:acme-eu", "PASS")}


def test_a_register_file_that_cannot_be_read_is_an_error_for_every_vendor_control(
    vendor_config: Callable[..., Path],
) -> None:
    folder = vendor_config(source={"kind": "file", "path": "missing-register.csv"})
    result = collect(folder)
    assert [g.resource_id for g in result.gaps] == [None]
    assert "field source.path: register" in result.gaps[0].message and "not found" in result.gaps[0].message
    found = findings(folder, result=result)
    assert len(found) == 11 and {str(f.status) for f in found} == {"ERROR"}
    assert {f.resource_type for f in found} == {"EvidenceScope"}


def test_a_missing_questionnaire_is_an_error_not_a_pass(vendor_config: Callable[..., Path]) -> None:
    folder = vendor_config([vendor("Acme")])
    (folder / "vendor-questionnaire.yaml").unlink()
    result = collect(folder)
    assert "vendor-questionnaire.yaml: file not found" in result.gaps[0].message
    assert {str(f.status) for f in findings(folder, result=result)} == {"ERROR"}


def test_answer_files_add_to_the_register_and_conflicts_are_errors(vendor_config: Callable[..., Path]) -> None:
    rows = [
        vendor("From file", uses_ai=True),
        vendor("Conflict", uses_ai=True),
        vendor("Unknown question", uses_ai=True),
    ]
    folder = vendor_config(rows, source={"kind": "inline", "answers_dir": "vendor-answers"})
    answers = folder / "vendor-answers"
    answers.mkdir()
    (answers / "from-file.csv").write_text(
        "question,answer\ntrains_on_customer_data,no\nprompt_output_retention_days,0\n"
    )
    (answers / "conflict.csv").write_text("question,answer\nencryption_at_rest,no\n")
    (answers / "unknown-question.csv").write_text("question,answer\n\ntraining,no\n")
    result = collect(folder)
    frame = result.tables["vendors"].set_index("resource_name")
    assert frame.loc["From file", "ai_questions_unanswered"] == 0
    assert frame.loc["From file", "questions_unanswered"] == 0
    messages = sorted(g.message for g in result.gaps if g.resource_id in ("vendor:conflict", "vendor:unknown-question"))
    assert messages[0].startswith(
        "configs/vendor-answers/conflict.csv line 2: field answer: encryption_at_rest "
        "answered 'no' here but 'yes' at configs/vendors.yaml line "
    )
    assert messages[1].startswith(
        "configs/vendor-answers/unknown-question.csv line 3: field question: unknown question 'training'"
    )
    answer_rows = result.tables["vendor_answers"].set_index("resource_id")
    assert answer_rows.loc["vendor:from-file/question:trains_on_customer_data", "answer_location"] == (
        "configs/vendor-answers/from-file.csv line 2"
    )


def test_a_misnamed_answer_file_or_folder_is_an_error_not_ignored(vendor_config: Callable[..., Path]) -> None:
    folder = vendor_config([vendor("Acme")], source={"kind": "inline", "answers_dir": "vendor-answers"})
    assert "configs/vendor-answers: answers_dir not found" in collect(folder).gaps[0].message
    (folder / "vendor-answers").mkdir()
    (folder / "vendor-answers" / "acme-corp.csv").write_text("question,answer\nencryption_at_rest,no\n")
    result = collect(folder)
    assert [g.resource_id for g in result.gaps] == [None]
    assert result.gaps[0].message == (
        "configs/vendor-answers: answer file(s) acme-corp.csv match no vendor id in "
        "the register (known: acme); name each file <vendor id>.csv"
    )
