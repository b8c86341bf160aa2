"""Every vendor control on registers built around the fixed clock AS_OF (2026-11-29): boundaries exact."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from complyflow.core.config import load_config
from tests.vendors.conftest import COMPLIANT_ANSWERS, collect, failures, findings, vendor, verdicts

REVIEW = ("vendor-reassessment-on-time", "vendor-review-due-soon", "vendor-review-due-imminent")


def _review(found: dict[tuple[str, str], str], name: str) -> tuple[str | None, ...]:
    return tuple(found.get((control, name)) for control in REVIEW)


def test_review_due_dates_overdue_reminders_and_boundaries(vendor_config: Callable[..., Path]) -> None:
    rows = [
        vendor("Due yesterday", next_review_due="2026-11-28"),
        vendor("Due today", next_review_due="2026-11-29"),
        vendor("Due tomorrow", next_review_due="2026-11-30"),
        vendor("Due in 7 days", next_review_due="2026-12-06"),
        vendor("Due in 8 days", next_review_due="2026-12-07"),
        vendor("Due in 30 days", next_review_due="2026-12-29"),
        vendor("Due in 31 days", next_review_due="2026-12-30"),
        # No next_review_due: the tier's interval (low: 365 days) from the last assessment decides.
        vendor("Assessed 365 days ago", last_assessment="2025-11-29"),
        vendor("Assessed 366 days ago", last_assessment="2025-11-28"),
        # Both given: the earlier date wins, whichever it is.
        vendor("Interval before next review", last_assessment="2025-11-28", next_review_due="2027-01-01"),
        vendor("Next review before interval", last_assessment="2026-11-01", next_review_due="2026-11-20"),
    ]
    found = verdicts(findings(vendor_config(rows)))
    # Reminders are REMINDER, never FAIL; within 7 days the nearer reminder replaces the 30-day one.
    #                                              overdue?  30-day reminder  7-day reminder
    assert _review(found, "Due yesterday") == ("FAIL", None, None)  # overdue: reminders do not apply
    assert _review(found, "Due today") == ("PASS", None, "REMINDER")
    assert _review(found, "Due tomorrow") == ("PASS", None, "REMINDER")
    assert _review(found, "Due in 7 days") == ("PASS", None, "REMINDER")
    assert _review(found, "Due in 8 days") == ("PASS", "REMINDER", "PASS")
    assert _review(found, "Due in 30 days") == ("PASS", "REMINDER", "PASS")
    assert _review(found, "Due in 31 days") == ("PASS", "PASS", "PASS")
    assert _review(found, "Assessed 365 days ago") == ("PASS", None, "REMINDER")
    assert _review(found, "Assessed 366 days ago") == ("FAIL", None, None)
    assert _review(found, "Interval before next review") == ("FAIL", None, None)
    assert _review(found, "Next review before interval") == ("FAIL", None, None)


def test_review_facts_record_which_date_decided(vendor_config: Callable[..., Path]) -> None:
    rows = [
        vendor("By interval", risk_tier="medium", last_assessment="2026-01-01", next_review_due="2027-06-01"),
        vendor("By date", last_assessment="2026-01-01", next_review_due="2026-12-01"),
    ]
    frame = collect(vendor_config(rows)).tables["vendors"].set_index("resource_name")
    assert frame.loc["By interval", "review_due"] == "2027-01-01"
    assert frame.loc["By interval", "review_due_basis"] == "review interval"
    assert frame.loc["By interval", "review_due_in_days"] == 33
    assert frame.loc["By interval", "days_since_assessment"] == 332
    assert frame.loc["By date", "review_due_basis"] == "next_review_due"
    assert frame.loc["By date", "review_due_in_days"] == 2


def test_the_clock_is_the_collection_time_in_utc(vendor_config: Callable[..., Path]) -> None:
    folder = vendor_config([vendor("Due 2026-11-29", next_review_due="2026-11-29")])
    late_evening = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)
    next_day = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert collect(folder, late_evening).tables["vendors"]["review_due_in_days"].tolist() == [0]
    assert collect(folder, next_day).tables["vendors"]["review_due_in_days"].tolist() == [-1]


def test_certifications_held_current_and_expiring(vendor_config: Callable[..., Path]) -> None:
    def high(name: str, *certs: tuple[str, str]) -> dict:
        return vendor(name, risk_tier="high", certifications=[{"name": n, "expires": e} for n, e in certs])

    rows = [
        high("Expires today", ("ISO 27001", "2026-11-29")),
        high("Expired yesterday", ("ISO 27001", "2026-11-28")),
        high("Expires tomorrow", ("ISO 27001", "2026-11-30")),
        high("Expires in 30 days", ("ISO 27001", "2026-12-29")),
        high("Expires in 31 days", ("ISO 27001", "2026-12-30")),
        high("Missing", ("SOC 2 Type II", "2027-06-01")),
        high("Renewed", ("ISO 27001", "2026-01-01"), ("iso  27001", "2027-06-01")),  # latest expiry wins
        vendor("Low tier", certifications=[{"name": "ISO 27001", "expires": "2020-01-01"}]),
    ]
    found = verdicts(findings(vendor_config(rows)))

    def cert(name: str, certification: str = "ISO 27001") -> tuple[str | None, ...]:
        resource = f"{name}: {certification}"
        return tuple(
            found.get((c, resource))
            for c in ("vendor-certification-held", "vendor-certification-current", "vendor-certification-expiring")
        )

    assert cert("Expires today") == ("PASS", "PASS", "REMINDER")
    assert cert("Expired yesterday") == ("PASS", "FAIL", None)
    assert cert("Expires tomorrow") == ("PASS", "PASS", "REMINDER")
    assert cert("Expires in 30 days") == ("PASS", "PASS", "REMINDER")
    assert cert("Expires in 31 days") == ("PASS", "PASS", "PASS")
    assert cert("Missing") == ("FAIL", None, None)
    assert cert("Missing", "SOC 2 Type II") == (None, None, None)  # held, not required: evidence only
    assert cert("Renewed") == ("PASS", "PASS", "PASS")
    assert cert("Low tier") == (None, None, None)  # the low tier requires no certification


def test_questionnaire_response_window(vendor_config: Callable[..., Path]) -> None:
    rows = [
        vendor("Sent today", questionnaire_sent="2026-11-29"),
        vendor("Sent 30 days ago", questionnaire_sent="2026-10-30"),
        vendor("Sent 31 days ago", questionnaire_sent="2026-10-29"),
        vendor("Answered", questionnaire_sent="2026-09-01", questionnaire_received="2026-09-20"),
        vendor("Sent again after answers", questionnaire_sent="2026-10-01", questionnaire_received="2026-09-20"),
        vendor("Never sent"),
    ]
    found = verdicts(findings(vendor_config(rows)))
    control = "vendor-questionnaire-answered"
    assert {r["vendor"]: found.get((control, r["vendor"])) for r in rows} == {
        "Sent today": "PASS",
        "Sent 30 days ago": "PASS",
        "Sent 31 days ago": "FAIL",
        "Answered": None,
        "Sent again after answers": "FAIL",
        "Never sent": None,
    }


def test_dpa_and_right_to_audit(vendor_config: Callable[..., Path]) -> None:
    rows = [
        vendor("Personal data, DPA"),
        vendor("Personal data, no DPA", dpa_signed=None),
        vendor("No personal data, no DPA", personal_data=False, dpa_signed=None),
        vendor("Critical with audit clause", risk_tier="critical", right_to_audit=True),
        vendor("Critical without audit clause", risk_tier="critical", right_to_audit=False),
        vendor("High without audit clause", risk_tier="high", right_to_audit=False),
    ]
    found = verdicts(findings(vendor_config(rows)))
    dpa = {name: found.get(("vendor-dpa-signed", name)) for name in (r["vendor"] for r in rows[:3])}
    assert dpa == {"Personal data, DPA": "PASS", "Personal data, no DPA": "FAIL", "No personal data, no DPA": None}
    audit = {name: found.get(("vendor-right-to-audit", name)) for name in (r["vendor"] for r in rows[3:])}
    assert audit == {
        "Critical with audit clause": "PASS",
        "Critical without audit clause": "FAIL",
        "High without audit clause": None,
    }


def test_answers_against_policy_and_ai_specific_answers(vendor_config: Callable[..., Path]) -> None:
    ai = {"uses_ai": True}
    rows = [
        vendor("AI compliant", **ai, answers=COMPLIANT_ANSWERS),
        vendor("AI trains on our data", **ai, answers={**COMPLIANT_ANSWERS, "trains_on_customer_data": "yes"}),
        vendor("AI keeps prompts 31 days", **ai, answers={**COMPLIANT_ANSWERS, "prompt_output_retention_days": 31}),
        vendor(
            "AI no retention answer",
            **ai,
            answers={k: v for k, v in COMPLIANT_ANSWERS.items() if k != "prompt_output_retention_days"},
        ),
        vendor("AI no answers", **ai, answers=None),
        vendor("Slow breach notice", answers={"breach_notification_hours": 96}),
        vendor("Not AI", answers=None),
    ]
    found = findings(vendor_config(rows))
    assert {f for f in failures(found) if f[0] in ("vendor-answers-meet-policy", "vendor-ai-answers-present")} == {
        ("vendor-answers-meet-policy", "AI trains on our data: trains_on_customer_data"),
        ("vendor-answers-meet-policy", "AI keeps prompts 31 days: prompt_output_retention_days"),
        ("vendor-answers-meet-policy", "Slow breach notice: breach_notification_hours"),
        ("vendor-ai-answers-present", "AI no retention answer"),
        ("vendor-ai-answers-present", "AI no answers"),
    }
    by_key = verdicts(found)
    assert by_key[("vendor-ai-answers-present", "AI compliant")] == "PASS"
    assert ("vendor-ai-answers-present", "Not AI") not in by_key
    # Questions for AI vendors only are not asked of others; unanswered questions are not judged.
    assert ("vendor-answers-meet-policy", "Not AI: trains_on_customer_data") not in by_key
    assert ("vendor-answers-meet-policy", "AI no answers: encryption_at_rest") not in by_key
    observed = {f.resource_name: f.observed for f in found if f.control_id == "vendor-ai-answers-present"}
    assert observed["AI no answers"] == "ai_questions_unanswered = 2"


def test_findings_go_to_the_security_owner(vendor_config: Callable[..., Path]) -> None:
    found = findings(vendor_config([vendor("Owned", security_owner="vendor-risk@example.com", dpa_signed=None)]))
    dpa = next(f for f in found if f.control_id == "vendor-dpa-signed")
    assert (dpa.status, dpa.owner, dpa.owner_route) == ("FAIL", "vendor-risk@example.com", "tag:owner")
    assert dpa.resource_arn == "complyflow:vendor/owned" and dpa.resource_type == "Vendor"
    assert dpa.resource_id == "vendor:owned"


def test_answer_of_the_wrong_kind_is_an_error_for_that_answer_only(vendor_config: Callable[..., Path]) -> None:
    answers = {**vendor("x")["answers"], "encryption_at_rest": "mostly"}
    found = findings(vendor_config([vendor("Vague", answers=answers)]))
    errors = [(f.control_id, f.resource_name) for f in found if f.status == "ERROR"]
    assert errors == [("vendor-answers-meet-policy", "Vague: encryption_at_rest")]
    assert ("vendor-answers-meet-policy", "Vague: encryption_in_transit") in {
        (f.control_id, f.resource_name) for f in found if f.status == "PASS"
    }
    gap = collect(vendor_config([vendor("Vague", answers=answers)])).gaps[0]
    assert gap.resource_id == "vendor:vague/question:encryption_at_rest"
    assert gap.message.startswith("configs/vendors.yaml line ")
    assert "field answers.encryption_at_rest: 'mostly' is not a yes/no answer" in gap.message


def test_a_compliant_vendor_passes_every_vendor_control(vendor_config: Callable[..., Path]) -> None:
    """Critical, AI, personal data, questionnaire out for 9 days: every control applies, and none fails."""
    clean = vendor(
        "Clean",
        risk_tier="critical",
        uses_ai=True,
        right_to_audit=True,
        answers=COMPLIANT_ANSWERS,
        questionnaire_sent="2026-11-20",
        certifications="ISO 27001=2027-06-01; SOC 2 Type II=2027-02-01",
    )
    folder = vendor_config([clean])
    found = findings(folder)
    assert {str(f.status) for f in found} == {"PASS"}
    vendor_controls = {c.id for c in load_config(folder).controls if c.id.startswith("vendor-")}
    assert {f.control_id for f in found} == vendor_controls
