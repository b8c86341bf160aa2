"""The shipped demo register: due-soon, overdue and compliant vendors, with the same verdicts on any day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.vendors.conftest import CONFIGS, collect, failures, findings, reminders

#: The demo's vendor violations and reminders, keyed as tests/test_nightly_flow.py keys EXPECTED_FAILURES.
#: Reminders (informational controls): REMINDER, never FAIL; Initech, due within 7 days, gets the nearest only.
DEMO_VENDOR_REMINDERS = {
    ("vendor-review-due-soon", "Acme Assist"),
    ("vendor-certification-expiring", "Acme Assist: ISO 27001"),
    ("vendor-review-due-imminent", "Initech Labelling"),
}
DEMO_VENDOR_FAILURES = {
    ("vendor-answers-meet-policy", "Acme Assist: trains_on_customer_data"),
    ("vendor-ai-answers-present", "Acme Assist"),
    ("vendor-reassessment-on-time", "Globex Analytics"),
    ("vendor-dpa-signed", "Globex Analytics"),
    ("vendor-questionnaire-answered", "Globex Analytics"),
    ("vendor-certification-current", "Initech Labelling: SOC 2 Type II"),
    ("vendor-certification-held", "Initech Labelling: ISO 27001"),
    ("vendor-right-to-audit", "Initech Labelling"),
}
DEMO_VENDOR_OWNERS = {"appsec@example.com", "privacy@example.com", "ml-security@example.com"}


@pytest.mark.parametrize("as_of", [datetime(2026, 11, 29, 2, tzinfo=UTC), datetime(2031, 2, 28, 23, 59, tzinfo=UTC)])
def test_the_demo_register_gives_the_same_verdicts_on_any_day(as_of: datetime) -> None:
    found = findings(CONFIGS, as_of)
    assert failures(found) == DEMO_VENDOR_FAILURES
    assert reminders(found) == DEMO_VENDOR_REMINDERS
    assert not [f for f in found if f.status == "ERROR"]
    assert {f.owner for f in found if f.status == "FAIL"} == DEMO_VENDOR_OWNERS
    passing = {f.resource_name for f in found if f.resource_name.split(":")[0] in ("Lumen LLM API", "Hooli Mail")}
    assert passing and not {(c, n) for c, n in failures(found) if n in passing}  # the compliant vendors


def test_the_compliant_demo_ai_vendor_answers_from_its_answers_file() -> None:
    answers = collect(CONFIGS).tables["vendor_answers"]
    lumen = answers[answers["vendor_id"] == "lumen-llm"]
    assert len(lumen) == 9 and lumen["answered"].all() and lumen["answer_meets_policy"].all()
    assert set(lumen["answer_location"].str.split(" line ").str[0]) == {"configs/vendor-answers/lumen-llm.csv"}
