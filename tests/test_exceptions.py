"""The exceptions register applied to findings: live, lapsed, not yet approved, expiring, unused, glob matches."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from complyflow.core.config import ExceptionEntry, ExceptionsRegister
from complyflow.core.model import Finding, Status
from tasks.exceptions import apply_exceptions

TODAY = date(2026, 11, 29)
ARN = "arn:aws:logs:eu-west-1:111111111111:log-group:/demo/scratch-1"


def finding(
    status: Status = Status.FAIL,
    *,
    control_id: str = "logs-retention-365",
    arn: str = ARN,
    resource_id: str | None = None,
) -> Finding:
    return Finding(
        run_id="R",
        control_id=control_id,
        control_title="t",
        resource_arn=arn,
        resource_id=resource_id or arn,
        resource_type="AwsLogsLogGroup",
        resource_name=arn.rsplit(":", 1)[-1],
        account="111111111111",
        region="eu-west-1",
        status=status,
        severity="low",
        owner="ml-research",
        observed="retention_days = 7",
        expected="retention_days >= 365",
        evidence_file="e",
        message="Log groups keep logs for a year",
    )


def entry(
    eid: str = "EXC-1",
    *,
    resource: str = "arn:aws:logs:*:*:log-group:/demo/scratch*",
    control: str = "logs-retention-365",
    approval: date = date(2026, 9, 1),
    expiry: date = date(2027, 3, 1),
    **extra: Any,
) -> ExceptionEntry:
    return ExceptionEntry(
        id=eid,
        control=control,
        resource=resource,
        justification="throw-away data",
        approver="ciso@example.com",
        approval_date=approval,
        expiry_date=expiry,
        **extra,
    )


def register(*entries: ExceptionEntry, window: int = 30) -> ExceptionsRegister:
    return ExceptionsRegister(review_window_days=window, exceptions=list(entries))


def test_live_exception_turns_fail_into_excepted_and_says_until_when_and_by_whom() -> None:
    outcome = apply_exceptions([finding()], register(entry()), TODAY)
    (result,) = outcome.findings
    assert result.status == Status.EXCEPTED
    assert result.exception_id == "EXC-1"
    assert result.message == "excepted until 2027-03-01 by ciso@example.com"
    assert outcome.lapsed == [] and outcome.unused == []


def test_exception_is_live_on_its_approval_and_expiry_days() -> None:
    item = entry(approval=TODAY, expiry=TODAY)
    assert apply_exceptions([finding()], register(item), TODAY).findings[0].status == Status.EXCEPTED


def test_lapsed_exception_is_a_violation_again_and_is_reported() -> None:
    old = entry(expiry=date(2026, 11, 28))
    outcome = apply_exceptions([finding()], register(old), TODAY)
    (result,) = outcome.findings
    assert result.status == Status.FAIL
    assert result.exception_id == "EXC-1"
    assert result.message.startswith("exception EXC-1 lapsed on 2026-11-28; ")
    assert [(f.resource_arn, e.id) for f, e in outcome.lapsed] == [(ARN, "EXC-1")]


def test_lapse_names_the_most_recent_expired_entry() -> None:
    first = entry("EXC-OLD", expiry=date(2026, 1, 31), approval=date(2025, 1, 1))
    second = entry("EXC-NEWER", expiry=date(2026, 10, 31), approval=date(2026, 2, 1))
    outcome = apply_exceptions([finding()], register(first, second), TODAY)
    assert [e.id for _, e in outcome.lapsed] == ["EXC-NEWER"]


def test_live_entry_wins_over_an_expired_one() -> None:
    expired = entry("EXC-OLD", expiry=date(2026, 1, 31), approval=date(2025, 1, 1))
    outcome = apply_exceptions([finding()], register(expired, entry("EXC-NEW")), TODAY)
    assert outcome.findings[0].status == Status.EXCEPTED
    assert outcome.findings[0].exception_id == "EXC-NEW"
    assert outcome.lapsed == []


def test_exception_approved_in_the_future_does_not_apply_yet() -> None:
    future = entry(approval=date(2026, 12, 1), expiry=date(2027, 1, 1))
    outcome = apply_exceptions([finding()], register(future), TODAY)
    assert outcome.findings[0].status == Status.FAIL
    assert outcome.findings[0].exception_id == ""
    assert outcome.lapsed == []


@pytest.mark.parametrize("status", [Status.PASS, Status.ERROR])
def test_only_failures_can_be_excepted(status: Status) -> None:
    """An exception accepts a known violation; it must never hide missing evidence."""
    outcome = apply_exceptions([finding(status)], register(entry()), TODAY)
    assert outcome.findings[0].status == status
    assert [e.id for e in outcome.unused] == ["EXC-1"]


@pytest.mark.parametrize(
    ("pattern", "arn", "matches"),
    [
        ("arn:aws:logs:*:*:log-group:/demo/scratch*", ARN, True),
        (
            "arn:aws:logs:*:*:log-group:/demo/scratch*",
            "arn:aws:logs:us-east-1:222222222222:log-group:/demo/scratch",
            True,
        ),
        (
            "arn:aws:logs:*:*:log-group:/demo/scratch*",
            "arn:aws:logs:eu-west-1:111111111111:log-group:/demo/train",
            False,
        ),
        ("arn:aws:logs:*:*:log-group:/demo/scratch*", ARN.upper(), False),  # case-sensitive, like ARNs
        (ARN, ARN, True),
        ("arn:aws:logs:eu-west-1:111111111111:log-group:/demo/scratch-?", ARN, True),
        ("arn:aws:logs:eu-west-1:111111111111:log-group:/demo/scratch-[2-9]", ARN, False),
    ],
)
def test_glob_match_on_arn(pattern: str, arn: str, matches: bool) -> None:
    outcome = apply_exceptions([finding(arn=arn)], register(entry(resource=pattern)), TODAY)
    assert (outcome.findings[0].status == Status.EXCEPTED) is matches


def test_glob_match_on_resource_id_for_sub_resources() -> None:
    key_arn = "arn:aws:iam::111111111111:user/bob"
    item = finding(control_id="iam-access-key-rotation", arn=key_arn, resource_id=f"{key_arn}#key-1")
    outcome = apply_exceptions([item], register(entry(control="iam-access-key-rotation", resource="*#key-1")), TODAY)
    assert outcome.findings[0].status == Status.EXCEPTED


def test_exception_for_another_control_does_not_apply() -> None:
    other = entry(control="s3-bucket-tls-only", resource="*")
    outcome = apply_exceptions([finding()], register(other), TODAY)
    assert outcome.findings[0].status == Status.FAIL


@pytest.mark.parametrize(
    ("expiry", "window", "reported"),
    [
        (TODAY, 30, True),  # expires today
        (date(2026, 12, 29), 30, True),  # last day of the window
        (date(2026, 12, 30), 30, False),  # one day beyond it
        (date(2026, 11, 28), 30, False),  # already lapsed: reported as lapsed, not as expiring
        (TODAY, 0, True),
        (date(2026, 11, 30), 0, False),
    ],
)
def test_exceptions_expiring_within_the_window_are_reported(expiry: date, window: int, reported: bool) -> None:
    item = entry(expiry=expiry, approval=date(2026, 1, 1))
    outcome = apply_exceptions([], register(item, window=window), TODAY)
    assert ([e.id for e in outcome.expiring] == ["EXC-1"]) is reported


def test_expiring_entries_are_reported_even_when_they_matched_nothing() -> None:
    soon = entry("EXC-SOON", expiry=date(2026, 12, 5))
    later = entry("EXC-LATER", expiry=date(2027, 6, 1))
    outcome = apply_exceptions([finding()], register(soon, later), TODAY)
    assert [e.id for e in outcome.expiring] == ["EXC-SOON"]
    assert [e.id for e in outcome.unused] == ["EXC-LATER"]  # EXC-SOON excepted the finding


def test_unused_lists_only_live_entries_that_matched_no_failure() -> None:
    unused_live = entry("EXC-UNUSED", resource="arn:aws:logs:*:*:log-group:/nothing*")
    expired = entry(
        "EXC-EXPIRED",
        resource="arn:aws:logs:*:*:log-group:/nothing*",
        expiry=date(2026, 1, 1),
        approval=date(2025, 1, 1),
    )
    outcome = apply_exceptions([finding()], register(entry(), unused_live, expired), TODAY)
    assert [e.id for e in outcome.unused] == ["EXC-UNUSED"]


def test_findings_keep_their_order_and_count() -> None:
    items = [
        finding(Status.PASS, arn="arn:aws:logs:eu-west-1:1:log-group:/a"),
        finding(),
        finding(arn="arn:aws:logs:eu-west-1:1:log-group:/b"),
    ]
    outcome = apply_exceptions(items, register(entry()), TODAY)
    assert [(f.resource_arn, f.status) for f in outcome.findings] == [
        ("arn:aws:logs:eu-west-1:1:log-group:/a", Status.PASS),
        (ARN, Status.EXCEPTED),
        ("arn:aws:logs:eu-west-1:1:log-group:/b", Status.FAIL),
    ]
